import { describe, expect, it } from "vitest";
import { defineAgent, parseAgentRecord } from "./agent-record.js";
import { resumeAgent, suspendAgent } from "./agent-supervision.js";

const ID = "spiffe://acme.example/agent/ops";

describe("suspendAgent and resumeAgent", () => {
  it("resume restores the state before suspension: a supervised agent stays supervised", () => {
    const supervised = defineAgent({
      id: ID,
      owner: "bob@acme.example",
      supervision: "supervised",
    });
    const suspended = suspendAgent(supervised);
    expect(suspended).toMatchObject({ supervision: "suspended", suspendedFrom: "supervised" });
    // Suspending twice keeps the state to return to.
    expect(suspendAgent(suspended)).toBe(suspended);
    const resumed = resumeAgent(suspended);
    expect(resumed.supervision).toBe("supervised");
    expect("suspendedFrom" in resumed).toBe(false);
    expect(resumeAgent(suspendAgent(defineAgent({ id: ID, owner: "o" }))).supervision).toBe(
      "autonomous",
    );
  });

  it("an agent with no recorded state resumes supervised unless told; records without the field still parse", () => {
    const old = parseAgentRecord({
      ...defineAgent({ id: ID, owner: "bob@acme.example" }),
      supervision: "suspended",
    });
    expect(resumeAgent(old).supervision).toBe("supervised");
    expect(resumeAgent(old, "autonomous").supervision).toBe("autonomous");
    expect(() => resumeAgent(defineAgent({ id: ID, owner: "o" }))).toThrow(/not suspended/);
  });
});
