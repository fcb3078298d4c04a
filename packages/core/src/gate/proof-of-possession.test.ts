import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { defineAgent } from "../identity/agent-record.js";
import { generateDpopKey } from "../identity/dpop.js";
import { createGate } from "../node/create-gate.js";
import { allow } from "../policy/decision.js";
import { FunctionPolicyClient } from "../policy/policy-client.js";
import { createTestGate } from "../testing/test-gate.js";
import type { ToolInvocation } from "./tool-invocation.js";

const AUDIENCE = "https://tools.acme.example";
const AGENT = "spiffe://acme.example/agent/support";
const TOOL = { name: "lookup", action: "read" } as const;
const THUMB_A = "A".repeat(43);
const THUMB_B = "B".repeat(43);

async function outcome(
  gate: { invoke: (i: ToolInvocation, run: () => Promise<string>) => Promise<string> },
  invocation: Omit<ToolInvocation, "tool" | "arguments">,
): Promise<{ result: string; ran: boolean }> {
  let ran = false;
  try {
    await gate.invoke({ tool: TOOL, arguments: {}, ...invocation }, async () => {
      ran = true;
      return "ok";
    });
    return { result: "ok", ran };
  } catch (error) {
    if (!isAgentGateError(error)) throw error;
    return {
      result: `${error.code}/${(error.details as { check?: string } | undefined)?.check}`,
      ran,
    };
  }
}

async function setup(requireProofOfPossession?: boolean) {
  return createTestGate({
    audience: AUDIENCE,
    policy: new FunctionPolicyClient(() => allow("all")),
    agents: [{ id: AGENT, owner: "alice@acme.example" }],
    ...(requireProofOfPossession === undefined ? {} : { requireProofOfPossession }),
  });
}

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("proof of possession at the gate", () => {
  it("M107: requireProofOfPossession refuses a bearer token on invoke and check, audited; bound tokens with their proof pass", async () => {
    const { gate, authority, audit } = await setup(true);
    const bearer = (await authority.issueToken(AGENT, { audience: AUDIENCE })).token;
    expect(await outcome(gate, { credential: bearer })).toEqual({
      result: "token_invalid/proof_of_possession",
      ran: false,
    });
    // Whatever the adapter claims, a token bound to nothing proved nothing.
    expect(
      await outcome(gate, {
        credential: bearer,
        metadata: { proofOfPossession: "dpop", proofThumbprint: THUMB_A },
      }),
    ).toEqual({ result: "token_invalid/proof_of_possession", ran: false });
    const checked = await gate.check({ tool: TOOL, credential: bearer });
    expect(checked).toMatchObject({ allowed: false, code: "token_invalid" });
    expect(audit.events.filter((event) => event.decision?.allowed === false)).toHaveLength(3);

    const key = await generateDpopKey();
    const bound = (
      await authority.issueToken(AGENT, { audience: AUDIENCE, confirmation: { jkt: key.jkt } })
    ).token;
    expect(
      await outcome(gate, { credential: bound, metadata: { proofOfPossession: "dpop" } }),
    ).toEqual({ result: "ok", ran: true });
    expect(
      await outcome(gate, {
        credential: bound,
        metadata: { proofOfPossession: "call", proofThumbprint: key.jkt },
      }),
    ).toEqual({ result: "ok", ran: true });

    // Without the setting, bearer tokens pass as before.
    const open = await setup();
    const openBearer = (await open.authority.issueToken(AGENT, { audience: AUDIENCE })).token;
    expect(await outcome(open.gate, { credential: openBearer })).toEqual({
      result: "ok",
      ran: true,
    });
  });

  it("M107: createGate reads requireProofOfPossession from config.json", async () => {
    const directory = mkdtempSync(join(tmpdir(), "agentgate-pop-"));
    roots.push(directory);
    const config = { trustDomain: "acme.example", audience: AUDIENCE };
    const policy = new FunctionPolicyClient(() => allow("all"));
    writeFileSync(
      join(directory, "config.json"),
      JSON.stringify({ ...config, requireProofOfPossession: "yes" }),
    );
    const wrong = await createGate({ directory, policy, watchPolicies: false }).catch(
      (error: unknown) => error,
    );
    expect(isAgentGateError(wrong) && wrong.code).toBe("invalid_configuration");

    writeFileSync(
      join(directory, "config.json"),
      JSON.stringify({ ...config, requireProofOfPossession: true }),
    );
    const gate = await createGate({ directory, policy, watchPolicies: false });
    try {
      await gate.registry.put(defineAgent({ id: AGENT, owner: "alice@acme.example" }));
      const bearer = (await gate.authority?.issueToken(AGENT, { audience: AUDIENCE }))?.token;
      expect(await outcome(gate, { credential: bearer })).toEqual({
        result: "token_invalid/proof_of_possession",
        ran: false,
      });
    } finally {
      await gate.close();
    }
    // The option wins over the file.
    const relaxed = await createGate({
      directory,
      policy,
      watchPolicies: false,
      requireProofOfPossession: false,
    });
    try {
      const bearer = (await relaxed.authority?.issueToken(AGENT, { audience: AUDIENCE }))?.token;
      expect(await outcome(relaxed, { credential: bearer })).toEqual({ result: "ok", ran: true });
    } finally {
      await relaxed.close();
    }
  });

  it("M108: a certificate-bound token passes only with the transport's mTLS thumbprint equal to its cnf", async () => {
    const { gate, authority } = await setup();
    const bound = (
      await authority.issueToken(AGENT, {
        audience: AUDIENCE,
        confirmation: { "x5t#S256": THUMB_A },
      })
    ).token;
    expect(await outcome(gate, { credential: bound })).toEqual({
      result: "token_invalid/x5t#S256",
      ran: false,
    });
    expect(
      await outcome(gate, {
        credential: bound,
        metadata: { proofOfPossession: "mtls", proofThumbprint: THUMB_B },
      }),
    ).toEqual({ result: "token_invalid/x5t#S256", ran: false });
    expect(
      await outcome(gate, { credential: bound, metadata: { proofOfPossession: "dpop" } }),
    ).toEqual({ result: "token_invalid/x5t#S256", ran: false });
    expect(
      await outcome(gate, {
        credential: bound,
        metadata: { proofOfPossession: "mtls", proofThumbprint: THUMB_A },
      }),
    ).toEqual({ result: "ok", ran: true });
    const verified = await authority.verifier().verify(bound, { audience: AUDIENCE });
    expect(verified.confirmation).toEqual({ "x5t#S256": THUMB_A });
  });

  it("M109: a key-bound token with a call proof from another key is refused", async () => {
    const { gate, authority } = await setup();
    const key = await generateDpopKey();
    const thief = await generateDpopKey();
    const bound = (
      await authority.issueToken(AGENT, { audience: AUDIENCE, confirmation: { jkt: key.jkt } })
    ).token;
    expect(
      await outcome(gate, {
        credential: bound,
        metadata: { proofOfPossession: "call", proofThumbprint: thief.jkt },
      }),
    ).toEqual({ result: "token_invalid/jkt", ran: false });
    expect(
      await outcome(gate, { credential: bound, metadata: { proofOfPossession: "call" } }),
    ).toEqual({ result: "token_invalid/jkt", ran: false });
  });

  it("issues no binding but one thumbprint: both, neither or a malformed one is invalid_configuration", async () => {
    const { authority } = await setup();
    for (const confirmation of [
      { jkt: THUMB_A, "x5t#S256": THUMB_B },
      {},
      { "x5t#S256": "short" },
    ]) {
      const refused = await authority
        .issueToken(AGENT, { audience: AUDIENCE, confirmation: confirmation as never })
        .catch((error: unknown) => error);
      expect(isAgentGateError(refused) && refused.code).toBe("invalid_configuration");
    }
  });
});
