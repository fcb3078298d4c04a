import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { crmLookup, makeGate } from "../../test/fixtures/gate.js";
import { OPS } from "../../test/fixtures/identity.js";
import { AgentGateError } from "../errors.js";
import { defineAgent } from "../identity/agent-record.js";
import { JwtSvidBundle } from "../identity/jwt-svid.js";
import { boundedCopy } from "../internal/bounded-copy.js";
import { allow } from "../policy/decision.js";
import { FunctionPolicyClient } from "../policy/policy-client.js";
import type { ToolDescriptor } from "../policy/tool-descriptor.js";
import { createTestGate } from "../testing/test-gate.js";
import { CallbackApprovalProvider } from "./approval.js";

// Each test pins down a path of gate.ts that a mutation changed without any other test noticing
// (MUTATION.md, the gate's full run): what reaches the policy client and the approver, which
// obligations redact, the bounded copy's own reason, and gate.refuse with a JWT-SVID.

const lookup = { customerId: "acme" };

describe("Gate: what the policy client and the approver are given", () => {
  it("I63: the caller's abort signal reaches the policy client; without one, no signal member", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const { gate, token } = await makeGate({
      policy: {
        evaluate: async (_request, options) => {
          seen.push({ ...options });
          return allow("ok");
        },
      },
    });
    const credential = await token(OPS);
    const controller = new AbortController();
    await gate.invoke(
      { tool: crmLookup, arguments: lookup, credential, signal: controller.signal },
      async () => 1,
    );
    await gate.invoke({ tool: crmLookup, arguments: lookup, credential }, async () => 1);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.signal).toBe(controller.signal);
    expect(Object.keys(seen[1] ?? { x: 1 })).toEqual([]);
  });

  it("D38: an approver that never answers is timed out: its signal is aborted and the timeout is recorded", async () => {
    let signal: AbortSignal | undefined;
    const approvals = new CallbackApprovalProvider((_request, options) => {
      signal = options.signal;
      return new Promise(() => {});
    });
    const { gate, token, events } = await makeGate({
      approvals,
      approvalTimeoutMs: 1,
      policy: new FunctionPolicyClient(() => allow("ok", { obligations: ["require-approval"] })),
    });
    const denial = await (async () => {
      try {
        await gate.invoke(
          { tool: crmLookup, arguments: lookup, credential: await token(OPS) },
          async () => 1,
        );
      } catch (error) {
        return error as AgentGateError;
      }
      return undefined;
    })();
    expect(denial?.code).toBe("approval_denied");
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal?.aborted).toBe(true);
    expect(events().find((event) => event.type === "approval")?.approval).toEqual({
      approved: false,
      approver: "timeout",
      reason: "no answer within 1 ms",
    });
  });

  it("E44: only redact: obligations mask arguments; require-approval names no argument", async () => {
    const approvals = new CallbackApprovalProvider(() => ({ approved: true, approver: "dana" }));
    const { gate, token, events } = await makeGate({
      approvals,
      policy: new FunctionPolicyClient(() =>
        allow("ok", { obligations: ["require-approval", "redact:secret"] }),
      ),
    });
    const tool: ToolDescriptor = { name: "crm_lookup", action: "read" };
    const args = { "-approval": "visible", approval: "visible", secret: "s" };
    await expect(
      gate.invoke({ tool, arguments: args, credential: await token(OPS) }, async (seen) => seen),
    ).resolves.toEqual(args);
    const decision = events().find((event) => event.type === "decision");
    expect(decision?.arguments).toEqual({
      "-approval": "visible",
      approval: "visible",
      secret: "[REDACTED]",
    });
  });
});

describe("Gate arguments: the bounded copy", () => {
  it("G54: arguments over the bounds are invalid_arguments naming the bound, with or without a schema", async () => {
    const bounds = { maxDepth: 2, maxNodes: 10_000, maxChars: 1_048_576 };
    const { gate, token } = await makeGate({ argumentBounds: { maxDepth: 2 } });
    const credential = await token(OPS);
    const deep = { customerId: "acme", fields: { a: { b: { c: 1 } } } };
    const copy = boundedCopy(deep, bounds);
    expect(copy.ok).toBe(false);
    const reason = copy.ok ? "" : copy.reason;
    for (const tool of [crmLookup, { name: "crm_lookup", action: "read" } as ToolDescriptor]) {
      let message = "";
      try {
        await gate.invoke({ tool, arguments: deep, credential }, async () => 1);
      } catch (error) {
        expect((error as AgentGateError).code).toBe("invalid_arguments");
        message = (error as AgentGateError).message;
      }
      expect(message).toBe(`Invalid arguments: ${reason}.`);
    }
  });
});

describe("Gate.refuse with a JWT-SVID", () => {
  const AUDIENCE = "https://tools.acme.example";
  const SUPPORT = "spiffe://acme.example/agent/support";

  async function setup() {
    const kid = "spire-jwt-1";
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, use: "jwt-svid" }] as JWK[] };
    const svid = (claims: Record<string, unknown> = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: SUPPORT, aud: [AUDIENCE], exp: now + 300, iat: now, ...claims })
        .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
        .sign(privateKey);
    };
    const test = await createTestGate({
      audience: AUDIENCE,
      policy: new FunctionPolicyClient(() => allow("all")),
      agents: [{ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }],
      spiffeBundles: [await JwtSvidBundle.fromJwks("acme.example", jwks)],
    });
    return { ...test, svid };
  }
  const unknownTool = () => new AgentGateError("access_denied", "Unknown tool.");
  const decisions = (events: readonly { type: string }[]) =>
    events.filter((event) => event.type === "decision") as Array<{
      agent?: string;
      decision?: { code?: string };
      details?: Record<string, unknown>;
    }>;

  it("K85, P133: an SVID whose agent the registry suspends names the agent; the adapter's denial stands", async () => {
    const { gate, audit, registry, svid } = await setup();
    await registry.put(
      defineAgent(
        { id: SUPPORT, owner: "alice", supervision: "suspended", maxScopes: ["crm:read"] },
        { now: Date.now },
      ),
    );
    await expectCode(
      gate.invoke({ tool: { name: "lookup" }, arguments: {}, credential: await svid() }, () => 1),
      "agent_suspended",
    );
    const refused = await gate.refuse(
      { tool: { name: "unknown_tool" }, credential: await svid() },
      unknownTool(),
    );
    expect(refused.code).toBe("access_denied");
    const event = decisions(audit.events).at(-1);
    expect(event?.agent).toBe(SUPPORT);
    expect(event?.decision?.code).toBe("access_denied");
    expect(event?.details?.tokenFingerprint).toBeUndefined();
  });

  it("K85, P132: at a gate with no SPIFFE bundle (none or an empty list) a refusal's SVID is a foreign token", async () => {
    const { svid } = await setup();
    for (const options of [{}, { spiffeBundles: [] }]) {
      const { gate, events } = await makeGate(options);
      const refused = await gate.refuse(
        { tool: { name: "unknown_tool" }, credential: await svid() },
        unknownTool(),
      );
      expect(refused.code).toBe("token_invalid");
      expect((refused.details as { check?: string } | undefined)?.check).toBe("typ");
      expect(events().at(-1)?.details?.tokenFingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it("K85, P132: an SVID that does not verify is the refusal's token_invalid, with its fingerprint", async () => {
    const { gate, audit, svid } = await setup();
    const foreign = await svid({ aud: ["https://other.acme.example"] });
    const refused = await gate.refuse(
      { tool: { name: "unknown_tool" }, credential: foreign },
      unknownTool(),
    );
    expect(refused.code).toBe("token_invalid");
    const event = decisions(audit.events).at(-1);
    expect(event?.agent).toBeUndefined();
    expect(event?.decision?.code).toBe("token_invalid");
    expect(event?.details?.tokenFingerprint).toMatch(/^[0-9a-f]{16}$/);
  });
});
