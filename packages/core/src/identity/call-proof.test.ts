import { describe, expect, it } from "vitest";
import { checkOf } from "../../test/fixtures/expect-code.js";
import { TestClock } from "../testing/test-clock.js";
import { argumentsHash, createCallProof, verifyCallProof } from "./call-proof.js";
import { generateDpopKey } from "./dpop.js";
import { MemoryReplayCache } from "./replay-cache.js";

const TOKEN = "header.payload.signature";
const CALL = { method: "tools/call", tool: "lookup", arguments: { customerId: "acme", n: 1 } };

const check = checkOf;

describe("call proofs (stdio and in-memory MCP)", () => {
  it("M109: a proof for another tool, method, arguments or token is refused; it names its key", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey();
    const replay = new MemoryReplayCache({ clock });
    const options = { ...CALL, accessToken: TOKEN, replay, clock };
    const proof = (overrides: Partial<typeof CALL> & { accessToken?: string } = {}) =>
      createCallProof(key, { ...CALL, accessToken: TOKEN, clock, ...overrides });
    expect(await verifyCallProof(await proof(), options)).toBe(key.jkt);
    expect(await check(verifyCallProof(undefined, options))).toBe("token_invalid/proof");
    expect(await check(verifyCallProof(await proof({ tool: "delete" }), options))).toBe(
      "token_invalid/tool",
    );
    expect(await check(verifyCallProof(await proof({ method: "tools/list" }), options))).toBe(
      "token_invalid/method",
    );
    expect(
      await check(
        verifyCallProof(await proof({ arguments: { customerId: "globex", n: 1 } }), options),
      ),
    ).toBe("token_invalid/args");
    expect(await check(verifyCallProof(await proof({ accessToken: "other" }), options))).toBe(
      "token_invalid/ath",
    );
    // Another typ (a DPoP proof) is no call proof.
    const tampered = (await proof()).split(".");
    tampered[2] = `${tampered[2]?.slice(0, -4)}AAAA`;
    expect(await check(verifyCallProof(tampered.join("."), options))).toBe("token_invalid/proof");
  });

  it("M110: a call proof is accepted once; its replay is refused", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey("EdDSA");
    const replay = new MemoryReplayCache({ clock });
    const options = { ...CALL, accessToken: TOKEN, replay, clock };
    const proof = await createCallProof(key, { ...CALL, accessToken: TOKEN, clock });
    expect(await check(verifyCallProof(proof, options))).toBe("ok");
    expect(await check(verifyCallProof(proof, options))).toBe("token_invalid/jti");
  });

  it("M110: the replay is refused until the proof's iat leaves the window, its last instant included", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey();
    const replay = new MemoryReplayCache({ clock });
    const options = { ...CALL, accessToken: TOKEN, replay, clock };
    const proof = await createCallProof(key, { ...CALL, accessToken: TOKEN, clock });
    expect(await check(verifyCallProof(proof, options))).toBe("ok");
    // Exactly 60 s after its iat the proof is still within the window: its jti must be too.
    clock.advance(60_000);
    expect(await check(verifyCallProof(proof, options))).toBe("token_invalid/jti");
    clock.advance(1);
    expect(await check(verifyCallProof(proof, options))).toBe("token_invalid/iat");
  });

  it("M110: the replay is refused with a shared replay cache that answers asynchronously too", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey();
    const memory = new MemoryReplayCache({ clock });
    // As a PostgreSQL replay cache answers: a promise, which a missing await would read as true.
    const replay = {
      remember: async (id: string, expiresAt: number) => memory.remember(id, expiresAt),
    };
    const options = { ...CALL, accessToken: TOKEN, replay, clock };
    const proof = await createCallProof(key, { ...CALL, accessToken: TOKEN, clock });
    expect(await check(verifyCallProof(proof, options))).toBe("ok");
    expect(await check(verifyCallProof(proof, options))).toBe("token_invalid/jti");
  });

  it("M111: clock skew within the window is accepted, beyond it refused, either way", async () => {
    const clock = new TestClock("2026-01-05T10:00:00Z");
    const key = await generateDpopKey();
    const replay = new MemoryReplayCache({ clock });
    const make = () => createCallProof(key, { ...CALL, accessToken: TOKEN, clock });
    const at = (offsetMs: number) => ({
      ...CALL,
      accessToken: TOKEN,
      replay,
      clock: { now: () => clock.now() + offsetMs },
    });
    expect(await check(verifyCallProof(await make(), at(59_000)))).toBe("ok");
    expect(await check(verifyCallProof(await make(), at(-59_000)))).toBe("ok");
    expect(await check(verifyCallProof(await make(), at(61_000)))).toBe("token_invalid/iat");
    expect(await check(verifyCallProof(await make(), at(-61_000)))).toBe("token_invalid/iat");
  });

  it("hashes arguments canonically: key order and undefined members do not matter", async () => {
    expect(await argumentsHash({ b: [1, "x"], a: { d: null, c: true } })).toBe(
      await argumentsHash({ a: { c: true, d: null }, b: [1, "x"], e: undefined }),
    );
    expect(await argumentsHash({ a: 1 })).not.toBe(await argumentsHash({ a: "1" }));
    expect(await argumentsHash(undefined)).toBe(await argumentsHash({}));
    // What the sender hashes is what the receiver parses from the JSON it was sent.
    const sent = { at: new Date("2026-01-05T10:00:00Z"), n: Number.NaN, list: [undefined, 1] };
    expect(await argumentsHash(sent)).toBe(await argumentsHash(JSON.parse(JSON.stringify(sent))));
    let deep: unknown = 1;
    for (let i = 0; i < 100; i += 1) deep = [deep];
    await expect(argumentsHash(deep)).rejects.toThrow(/deeply/);
  });
});
