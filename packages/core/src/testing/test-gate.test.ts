import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { type AuditEvent, allow, deny, FunctionPolicyClient } from "../index.js";
import { createTestGate, TestClock } from "./index.js";

const SUPPORT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://tools.acme.example";
const readsOnly = new FunctionPolicyClient((request) =>
  request.action.name === "read" ? allow("reads", { policies: ["reads"] }) : deny("no"),
);
const lookup = { name: "crm_lookup", action: "read" as const };

describe("createTestGate", () => {
  it("registers the agents in their trust domain and runs calls through the policy, audited in memory", async () => {
    const { gate, credentials, audit, authority, registry } = await createTestGate({
      audience: AUDIENCE,
      policy: readsOnly,
      agents: [{ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }],
    });
    expect(authority.trustDomain).toBe("acme.example");
    expect((await registry.get(SUPPORT))?.owner).toBe("alice@acme.example");
    const credential = credentials(SUPPORT);
    await expect(
      gate.invoke({ tool: lookup, arguments: {}, credential }, async () => "ran"),
    ).resolves.toBe("ran");
    await expectCode(
      gate.invoke(
        { tool: { name: "crm_delete", action: "delete" }, arguments: {}, credential },
        async () => "ran",
      ),
      "access_denied",
    );
    expect(audit.events.map((event) => `${event.type} ${event.decision?.allowed ?? ""}`)).toEqual([
      "decision true",
      "outcome ",
      "decision false",
    ]);
  });

  it("issues credentials for another audience only when asked, and the gate refuses them", async () => {
    const { gate, credentials } = await createTestGate({
      audience: AUDIENCE,
      policy: readsOnly,
      agents: [{ id: SUPPORT, owner: "alice@acme.example" }],
    });
    const elsewhere = credentials(SUPPORT, "https://other.acme.example");
    await expectCode(
      gate.invoke({ tool: lookup, arguments: {}, credential: elsewhere }, async () => "ran"),
      "token_invalid",
    );
  });

  it("takes a clock, gate options and its own audit sink", async () => {
    const clock = new TestClock("2026-01-05T09:00:00.000Z");
    const written: AuditEvent[] = [];
    const sink = {
      write: async (event: AuditEvent) => void written.push(event),
      flush: async () => {},
      close: async () => {},
    };
    const { gate, credentials, audit } = await createTestGate({
      audience: AUDIENCE,
      policy: readsOnly,
      clock,
      environment: "test",
      audit: sink,
      agents: [{ id: SUPPORT, owner: "alice@acme.example" }],
    });
    expect(audit).toBe(sink);
    await gate.invoke({ tool: lookup, arguments: {}, credential: credentials(SUPPORT) }, () => 1);
    expect(written[0]?.time).toBe("2026-01-05T09:00:00.000Z");
  });

  it("needs agents or a trust domain", async () => {
    await expectCode(
      createTestGate({ audience: AUDIENCE, policy: readsOnly, agents: [] }),
      "invalid_configuration",
    );
    const { authority } = await createTestGate({
      audience: AUDIENCE,
      policy: readsOnly,
      agents: [],
      trustDomain: "example.test",
    });
    expect(authority.trustDomain).toBe("example.test");
  });
});
