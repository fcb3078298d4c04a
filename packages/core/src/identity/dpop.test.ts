import { describe, expect, it } from "vitest";
import { checkOf } from "../../test/fixtures/expect-code.js";
import { allow } from "../policy/decision.js";
import { FunctionPolicyClient } from "../policy/policy-client.js";
import { TestClock } from "../testing/test-clock.js";
import { createTestGate } from "../testing/test-gate.js";
import { createDpopProof, generateDpopKey, verifyDpopProof } from "./dpop.js";
import { MemoryReplayCache } from "./replay-cache.js";

const URL_ = "https://mcp.acme.example/mcp";
const TOKEN = "header.payload.signature";

const check = checkOf;

describe("DPoP proofs (RFC 9449)", () => {
  it("M104: a proof from another key, for another token, URL or method is refused", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey();
    const thief = await generateDpopKey();
    const replay = new MemoryReplayCache({ clock });
    const options = { method: "POST", url: URL_, accessToken: TOKEN, jkt: key.jkt, replay, clock };
    const proof = (
      signer = key,
      overrides: { method?: string; url?: string; token?: string } = {},
    ) =>
      createDpopProof(signer, {
        method: overrides.method ?? "POST",
        url: overrides.url ?? URL_,
        accessToken: overrides.token ?? TOKEN,
        clock,
      });
    expect(await check(verifyDpopProof(await proof(), options))).toBe("ok");
    expect(await check(verifyDpopProof(undefined, options))).toBe("token_invalid/dpop");
    expect(await check(verifyDpopProof(await proof(thief), options))).toBe("token_invalid/jkt");
    expect(await check(verifyDpopProof(await proof(key, { token: "other" }), options))).toBe(
      "token_invalid/ath",
    );
    expect(
      await check(verifyDpopProof(await proof(key, { url: "https://evil.example/mcp" }), options)),
    ).toBe("token_invalid/htu");
    expect(await check(verifyDpopProof(await proof(key, { method: "GET" }), options))).toBe(
      "token_invalid/htm",
    );
    // The query is not part of htu: the same proof covers /mcp?x=1.
    expect(
      await check(verifyDpopProof(await proof(), { ...options, url: `${URL_}?session=1` })),
    ).toBe("ok");
  });

  it("M105: a proof is accepted once; its replay is refused", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey("EdDSA");
    const replay = new MemoryReplayCache({ clock });
    const options = { method: "POST", url: URL_, accessToken: TOKEN, jkt: key.jkt, replay, clock };
    const proof = await createDpopProof(key, {
      method: "POST",
      url: URL_,
      accessToken: TOKEN,
      clock,
    });
    expect(await check(verifyDpopProof(proof, options))).toBe("ok");
    expect(await check(verifyDpopProof(proof, options))).toBe("token_invalid/jti");
  });

  it("M105: the replay is refused until the proof's iat leaves the window, its last instant included", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey();
    const replay = new MemoryReplayCache({ clock });
    const options = { method: "POST", url: URL_, accessToken: TOKEN, jkt: key.jkt, replay, clock };
    const proof = await createDpopProof(key, {
      method: "POST",
      url: URL_,
      accessToken: TOKEN,
      clock,
    });
    expect(await check(verifyDpopProof(proof, options))).toBe("ok");
    // Exactly 60 s after its iat the proof is still within the window: its jti must be too.
    clock.advance(60_000);
    expect(await check(verifyDpopProof(proof, options))).toBe("token_invalid/jti");
    clock.advance(1);
    expect(await check(verifyDpopProof(proof, options))).toBe("token_invalid/iat");
  });

  it("M106: clock skew within the window is accepted, beyond it refused, either way", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey();
    const replay = new MemoryReplayCache({ clock });
    const make = () =>
      createDpopProof(key, { method: "POST", url: URL_, accessToken: TOKEN, clock });
    const at = (offsetMs: number) => ({
      method: "POST",
      url: URL_,
      accessToken: TOKEN,
      jkt: key.jkt,
      replay,
      clock: { now: () => clock.now() + offsetMs },
    });
    expect(await check(verifyDpopProof(await make(), at(59_000)))).toBe("ok");
    expect(await check(verifyDpopProof(await make(), at(-59_000)))).toBe("ok");
    expect(await check(verifyDpopProof(await make(), at(61_000)))).toBe("token_invalid/iat");
    expect(await check(verifyDpopProof(await make(), at(-61_000)))).toBe("token_invalid/iat");
  });

  it("binds a token to the key: cnf.jkt is issued and verified into the identity", async () => {
    const { authority } = await createTestGate({
      audience: URL_,
      policy: new FunctionPolicyClient(() => allow("all")),
      agents: [{ id: "spiffe://acme.example/agent/support", owner: "alice@acme.example" }],
    });
    const key = await generateDpopKey();
    const issued = await authority.issueToken("spiffe://acme.example/agent/support", {
      audience: URL_,
      confirmation: { jkt: key.jkt },
    });
    const agent = await authority.verifier().verify(issued.token, { audience: URL_ });
    expect(agent.confirmation).toEqual({ jkt: key.jkt });
  });
});
