import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { crmLookup, makeGate } from "../../test/fixtures/gate.js";
import { AUDIENCE, OPS } from "../../test/fixtures/identity.js";
import { AgentGateError } from "../errors.js";
import type { VerifiedAgent } from "../identity/agent-token.js";
import { type UsableAgentToken, verifyAgentToken } from "../identity/verify-agent-token.js";
import type { CertificateAuthenticator } from "./certificate-credential.js";

// Mutation tests of the gate's mTLS paths (MUTATION.md, group `gate`): a certificate credential
// goes through the configured CertificateAuthenticator port only, on invoke and on refuse, and the
// identity the port proves names the caller of a refusal. The port is a stand-in here (the real
// one, x509CertificateAuthenticator, is tested in src/node/x509): what is tested is the gate.

const CHAIN = [new Uint8Array([0x30, 0x82, 0x01]), new Uint8Array([0x30, 0x82, 0x02])];
const lookup = { customerId: "acme" };

interface Seen {
  chain: readonly Uint8Array[];
  options: { readonly audience: string; readonly onVerified?: (agent: VerifiedAgent) => void };
}

/** A gate whose certificate port proves `OPS` (through a real token of the fixture) or refuses. */
async function certificateGate(
  behaviour: "prove" | "refuse-after-verify" | "refuse" = "prove",
  extra: Record<string, unknown> = {},
) {
  const seen: Seen[] = [];
  let proven: UsableAgentToken | undefined;
  let made: Awaited<ReturnType<typeof makeGate>> | undefined;
  let token = "";
  const certificates: CertificateAuthenticator = {
    async authenticate(chain, options) {
      seen.push({ chain, options });
      if (behaviour === "refuse" || made === undefined)
        throw new AgentGateError("token_invalid", "The certificate is not trusted.");
      proven = await verifyAgentToken(token, {
        verifier: made.verifier,
        registry: made.registry,
        audience: options.audience,
        clock: made.clock,
      });
      options.onVerified?.(proven.agent);
      if (behaviour === "refuse-after-verify")
        throw new AgentGateError("agent_suspended", "The agent is suspended.");
      return proven;
    },
  };
  made = await makeGate({ certificates, ...extra });
  token = await made.token(OPS, ["crm:read"]);
  return { ...made, seen };
}

describe("the gate and mTLS client certificates", () => {
  it("invoke: the chain goes to the certificate port with the gate's audience; the proven agent runs the tool", async () => {
    const { gate, seen, events } = await certificateGate();
    const result = await gate.invoke(
      { tool: crmLookup, arguments: lookup, credential: { certificateChain: CHAIN } },
      async () => "ran",
    );
    expect(result).toBe("ran");
    expect(seen).toHaveLength(1);
    expect(seen[0]?.chain).toBe(CHAIN);
    expect(seen[0]?.options.audience).toBe(AUDIENCE);
    expect(typeof seen[0]?.options.onVerified).toBe("function");
    expect(events()[0]).toMatchObject({
      type: "decision",
      agent: OPS,
      owner: "ops@acme.example",
      decision: { allowed: true },
    });
  });

  it("invoke under requireProofOfPossession: a certificate is itself the proof", async () => {
    const { gate } = await certificateGate("prove", { requireProofOfPossession: true });
    await expect(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: { certificateChain: CHAIN } },
        async () => "ran",
      ),
    ).resolves.toBe("ran");
  });

  it("a gate without a certificate port refuses a certificate as token_invalid, on invoke and on refuse", async () => {
    const { gate, events } = await makeGate();
    let ran = false;
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: { certificateChain: CHAIN } },
        async () => {
          ran = true;
          return "ran";
        },
      ),
      "token_invalid",
    );
    expect(ran).toBe(false);
    const denial = await gate.refuse(
      { tool: crmLookup, arguments: lookup, credential: { certificateChain: CHAIN } },
      new AgentGateError("access_denied", "Unknown tool."),
    );
    expect(denial.code).toBe("token_invalid");
    expect(events().map((event) => [event.type, event.decision?.code, event.agent])).toEqual([
      ["decision", "token_invalid", undefined],
      ["decision", "token_invalid", undefined],
    ]);
  });

  it("a refusal after the port proved the agent names the agent, and no token fingerprint", async () => {
    const { gate, events } = await certificateGate("refuse-after-verify");
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: lookup, credential: { certificateChain: CHAIN } },
        async () => "ran",
      ),
      "agent_suspended",
    );
    const event = events()[0];
    expect(event).toMatchObject({
      type: "decision",
      agent: OPS,
      decision: { allowed: false, code: "agent_suspended" },
    });
    expect(event?.details?.tokenFingerprint).toBeUndefined();
  });

  it("refuse: a proven certificate names the caller of the adapter's denial, with the redacted arguments", async () => {
    const { gate, seen, events } = await certificateGate();
    const denial = await gate.refuse(
      {
        tool: { name: "no_such_tool" },
        arguments: { password: "hunter2", q: "x" },
        credential: { certificateChain: CHAIN },
      },
      new AgentGateError("access_denied", "Unknown tool no_such_tool."),
    );
    expect(denial.code).toBe("access_denied");
    expect(seen.map((call) => [call.chain, call.options.audience])).toEqual([[CHAIN, AUDIENCE]]);
    expect(events()).toEqual([
      expect.objectContaining({
        type: "decision",
        agent: OPS,
        arguments: { password: "[REDACTED]", q: "x" },
        decision: expect.objectContaining({
          allowed: false,
          code: "access_denied",
          reason: "Unknown tool no_such_tool.",
        }),
      }),
    ]);
  });

  it("refuse: a certificate the port refuses is the denial, after naming the agent when it could", async () => {
    const named = await certificateGate("refuse-after-verify");
    const suspended = await named.gate.refuse(
      { tool: { name: "x" }, arguments: {}, credential: { certificateChain: CHAIN } },
      new AgentGateError("access_denied", "Unknown tool x."),
    );
    expect(suspended.code).toBe("agent_suspended");
    expect(named.events()[0]).toMatchObject({ agent: OPS, decision: { code: "agent_suspended" } });

    const untrusted = await certificateGate("refuse");
    const refused = await untrusted.gate.refuse(
      { tool: { name: "x" }, credential: { certificateChain: CHAIN } },
      new AgentGateError("access_denied", "Unknown tool x."),
    );
    expect(refused.code).toBe("token_invalid");
    const event = untrusted.events()[0];
    expect(event?.agent).toBeUndefined();
    expect(event?.arguments).toEqual({});
    expect(event?.details?.tokenFingerprint).toBeUndefined();
  });
});
