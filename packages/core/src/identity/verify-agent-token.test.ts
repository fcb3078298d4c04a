import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { allow } from "../policy/decision.js";
import { FunctionPolicyClient } from "../policy/policy-client.js";
import { TestClock } from "../testing/test-clock.js";
import { createTestGate } from "../testing/test-gate.js";
import { defineAgent } from "./agent-record.js";
import { suspendAgent } from "./agent-supervision.js";
import { verifyAgentToken } from "./verify-agent-token.js";

const SUPPORT = "spiffe://acme.example/agent/support";
const GHOST = "spiffe://acme.example/agent/ghost";
const AUDIENCE = "https://tools.acme.example";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (isAgentGateError(error)) return error.code;
    throw error;
  }
}

describe("verifyAgentToken: the gate's answer to 'is this token good'", () => {
  it("L90: suspended, revoked, expired and unregistered agents' tokens are unusable, with the code the gate denies with", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const { gate, authority, registry } = await createTestGate({
      audience: AUDIENCE,
      clock,
      policy: new FunctionPolicyClient(() => allow("all")),
      agents: [
        { id: SUPPORT, owner: "alice@acme.example", expiresAt: "2026-01-05T12:00:00Z" },
        { id: GHOST, owner: "nobody@acme.example" },
      ],
    });
    const both = async (token: string) => {
      const verified = await codeOf(
        verifyAgentToken(token, {
          verifier: authority.verifier(),
          registry,
          audience: AUDIENCE,
          clock,
        }),
      );
      const check = await gate.check({ tool: { name: "t" }, credential: token });
      return { verified, gate: check.allowed ? "ok" : check.code };
    };
    const issue = async (agent: string) =>
      (await authority.issueToken(agent, { audience: AUDIENCE, ttlSeconds: 300 })).token;

    const token = await issue(SUPPORT);
    expect(await both(token)).toEqual({ verified: "ok", gate: "ok" });

    // Unregistered: the record is gone although the token still verifies cryptographically.
    const ghost = await issue(GHOST);
    expect(await registry.remove(GHOST)).toBe(true);
    expect(await both(ghost)).toEqual({ verified: "agent_unknown", gate: "agent_unknown" });

    const registered = await registry.get(SUPPORT);
    if (registered === undefined) throw new Error("support is registered");
    await registry.put(suspendAgent(registered));
    expect(await both(token)).toEqual({ verified: "agent_suspended", gate: "agent_suspended" });
    await registry.put(registered);
    expect(await both(token)).toEqual({ verified: "ok", gate: "ok" });

    // The registration expires while the token still lives.
    await registry.put(
      defineAgent(
        { id: SUPPORT, owner: "alice@acme.example", expiresAt: "2026-01-05T10:01:00Z" },
        clock,
      ),
    );
    clock.advance(120_000);
    expect(await both(token)).toEqual({ verified: "agent_expired", gate: "agent_expired" });
    await registry.put(registered);

    clock.advance(300_000);
    expect(await both(token)).toEqual({ verified: "token_expired", gate: "token_expired" });

    const fresh = await issue(SUPPORT);
    await authority.revoke("agent", SUPPORT, "test");
    expect(await both(fresh)).toEqual({ verified: "agent_revoked", gate: "agent_revoked" });
  });

  it("tells the caller who the token proves before the registry refuses it", async () => {
    const { authority, registry } = await createTestGate({
      audience: AUDIENCE,
      policy: new FunctionPolicyClient(() => allow("all")),
      agents: [{ id: SUPPORT, owner: "alice@acme.example" }],
    });
    const token = (await authority.issueToken(SUPPORT, { audience: AUDIENCE })).token;
    await registry.remove(SUPPORT);
    const seen: string[] = [];
    await expect(
      verifyAgentToken(token, {
        verifier: authority.verifier(),
        registry,
        audience: AUDIENCE,
        onVerified: (agent) => seen.push(agent.agent.toString()),
      }),
    ).rejects.toMatchObject({ code: "agent_unknown" });
    expect(seen).toEqual([SUPPORT]);
  });
});
