import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { allow } from "../policy/decision.js";
import { FunctionPolicyClient } from "../policy/policy-client.js";
import { createTestGate } from "../testing/test-gate.js";
import type { ToolInvocation } from "./tool-invocation.js";

// Mutation tests of the gate's proof-of-possession check (MUTATION.md, group `gate`; SECURITY.md
// M104, M108, M110): which proof a transport reports, with which thumbprint, for which binding.
// Each case is one the transport could report; only the matching proof for the token's own
// binding lets the tool run.

const AUDIENCE = "https://tools.acme.example";
const AGENT = "spiffe://acme.example/agent/support";
const JKT = "J".repeat(43);
const X5T = "X".repeat(43);
const OTHER = "O".repeat(43);

async function gateWithTokens() {
  const { gate, authority } = await createTestGate({
    audience: AUDIENCE,
    policy: new FunctionPolicyClient(() => allow("all")),
    agents: [{ id: AGENT, owner: "alice@acme.example" }],
  });
  const issue = async (confirmation: { jkt: string } | { "x5t#S256": string }) =>
    (await authority.issueToken(AGENT, { audience: AUDIENCE, confirmation })).token;
  const outcome = async (credential: string, metadata: ToolInvocation["metadata"]) => {
    try {
      await gate.invoke(
        { tool: { name: "lookup", action: "read" }, arguments: {}, credential, metadata },
        async () => "ok",
      );
      return "ok";
    } catch (error) {
      if (!isAgentGateError(error)) throw error;
      return `${error.code}/${(error.details as { check?: string } | undefined)?.check}`;
    }
  };
  return {
    keyBound: await issue({ jkt: JKT }),
    certBound: await issue({ "x5t#S256": X5T }),
    outcome,
  };
}

describe("proof of possession at the gate, case by case", () => {
  it("M104: a key-bound token passes with a DPoP proof of its key (with or without the thumbprint), never of another key", async () => {
    const { keyBound, outcome } = await gateWithTokens();
    expect(await outcome(keyBound, { proofOfPossession: "dpop" })).toBe("ok");
    expect(await outcome(keyBound, { proofOfPossession: "dpop", proofThumbprint: JKT })).toBe("ok");
    expect(await outcome(keyBound, { proofOfPossession: "dpop", proofThumbprint: OTHER })).toBe(
      "token_invalid/dpop",
    );
  });

  it("M110: a key-bound token passes with a call proof of its key only", async () => {
    const { keyBound, outcome } = await gateWithTokens();
    expect(await outcome(keyBound, { proofOfPossession: "call", proofThumbprint: JKT })).toBe("ok");
    expect(await outcome(keyBound, { proofOfPossession: "call", proofThumbprint: OTHER })).toBe(
      "token_invalid/jkt",
    );
  });

  it("M104: a key-bound token is not proven by mTLS, even with a thumbprint equal to its jkt; without a proof the check is dpop", async () => {
    const { keyBound, outcome } = await gateWithTokens();
    expect(await outcome(keyBound, { proofOfPossession: "mtls", proofThumbprint: JKT })).toBe(
      "token_invalid/dpop",
    );
    expect(await outcome(keyBound, undefined)).toBe("token_invalid/dpop");
    expect(await outcome(keyBound, {})).toBe("token_invalid/dpop");
  });

  it("M108: a certificate-bound token is proven only by mTLS with its certificate's thumbprint", async () => {
    const { certBound, outcome } = await gateWithTokens();
    expect(await outcome(certBound, { proofOfPossession: "mtls", proofThumbprint: X5T })).toBe(
      "ok",
    );
    for (const metadata of [
      { proofOfPossession: "dpop", proofThumbprint: X5T },
      { proofOfPossession: "call", proofThumbprint: X5T },
      { proofOfPossession: "mtls", proofThumbprint: OTHER },
      { proofOfPossession: "mtls" },
    ] as const) {
      expect(await outcome(certBound, metadata), JSON.stringify(metadata)).toBe(
        "token_invalid/x5t#S256",
      );
    }
  });
});
