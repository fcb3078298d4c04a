import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { TestClock } from "../testing/index.js";
import { defineAgent, isAgentExpired, parseAgentRecord } from "./agent-record.js";

const ID = "spiffe://acme.example/agent/support";

describe("AgentRecord", () => {
  it("fills defaults and validates", () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const record = defineAgent(
      { id: ID, owner: "alice@acme.example", maxScopes: ["crm:read", "crm:read"] },
      clock,
    );
    expect(record).toEqual({
      id: ID,
      displayName: "support",
      owner: "alice@acme.example",
      supervision: "autonomous",
      labels: {},
      maxScopes: ["crm:read"],
      createdAt: "2026-01-05T10:00:00.000Z",
    });
    expect(parseAgentRecord(JSON.parse(JSON.stringify(record)))).toEqual(record);
  });

  it("requires an owner and refuses bad scopes, ids and unknown fields", async () => {
    await expectCode(() => defineAgent({ id: ID, owner: "" }), "invalid_agent_record");
    await expectCode(
      () => defineAgent({ id: ID, owner: "a", maxScopes: ["CRM:READ"] }),
      "invalid_agent_record",
    );
    await expectCode(
      () => defineAgent({ id: ID, owner: "a", maxScopes: ["crm read"] }),
      "invalid_agent_record",
    );
    await expectCode(
      () => defineAgent({ id: "spiffe://acme.example/agent/Support", owner: "a" }),
      "invalid_agent_id",
    );
    await expectCode(
      () => parseAgentRecord({ ...defineAgent({ id: ID, owner: "a" }), admin: true }),
      "invalid_agent_record",
    );
  });

  it("G55/E45: refuses control, zero-width and bidi characters in names that reach tables and logs", async () => {
    for (const owner of [
      "alice\n[ok] forged line",
      "ali\u200bce",
      "alice\u202egnp.exe",
      "\u001b[31mred",
    ]) {
      await expectCode(() => defineAgent({ id: ID, owner }), "invalid_agent_record");
    }
  });

  it("knows when a registration has expired", () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const record = defineAgent(
      { id: ID, owner: "a", expiresAt: "2026-01-05T11:00:00.000Z" },
      clock,
    );
    expect(isAgentExpired(record, clock)).toBe(false);
    clock.advance(3_600_000);
    expect(isAgentExpired(record, clock)).toBe(true);
  });
});
