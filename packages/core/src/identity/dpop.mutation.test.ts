import { base64url, calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { checkOf } from "../../test/fixtures/expect-code.js";
import { recordingReplay } from "../../test/fixtures/recording-replay.js";
import { TestClock } from "../testing/test-clock.js";
import {
  accessTokenHash,
  createDpopProof,
  DPOP_PROOF_TYPE,
  type DpopKey,
  generateDpopKey,
  verifyDpopProof,
} from "./dpop.js";
import { MemoryReplayCache } from "./replay-cache.js";

// Mutation tests of dpop.ts (MUTATION.md, group `identity-exchange`): the key pair, the proof's
// exact claims and header, and each check of verifyDpopProof at its boundary (M104-M106).

const URL_ = "https://mcp.acme.example/mcp";
const TOKEN = "header.payload.signature";
// A whole second, so that a proof's iat is exactly now.
const START = Date.parse("2026-01-05T10:00:00Z");

const check = checkOf;

/** A proof signed by `key` with exactly these claims and header members. */
async function rawProof(
  key: DpopKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ typ: DPOP_PROOF_TYPE, alg: key.alg, jwk: key.publicJwk, ...header })
    .sign(key.privateKey);
}

async function claimsFor(overrides: Record<string, unknown> = {}) {
  return {
    htm: "POST",
    htu: URL_,
    iat: START / 1000,
    jti: "jti-1",
    ath: await accessTokenHash(TOKEN),
    ...overrides,
  };
}

describe("generateDpopKey", () => {
  it("an ES256 key: a non-extractable private key, the public JWK's members only, its thumbprint", async () => {
    const key = await generateDpopKey();
    expect(key.alg).toBe("ES256");
    expect(key.privateKey.extractable).toBe(false);
    expect(Object.keys(key.publicJwk).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(key.publicJwk).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(key.jkt).toBe(await calculateJwkThumbprint(key.publicJwk));
  });

  it("an EdDSA key has no y member", async () => {
    const key = await generateDpopKey("EdDSA");
    expect(key.alg).toBe("EdDSA");
    expect(key.privateKey.extractable).toBe(false);
    expect(Object.keys(key.publicJwk).sort()).toEqual(["crv", "kty", "x"]);
    expect(key.jkt).toBe(await calculateJwkThumbprint(key.publicJwk));
  });
});

describe("accessTokenHash", () => {
  it("is base64url(SHA-256(token))", async () => {
    // SHA-256("abc"), FIPS 180-2 appendix B.1.
    expect(await accessTokenHash("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  });
});

describe("createDpopProof", () => {
  it("htm upper-cased, htu without query and fragment, iat in whole seconds, a 16-byte jti, ath of the token", async () => {
    const key = await generateDpopKey();
    const clock = new TestClock(START + 1_999);
    const proof = await createDpopProof(key, {
      method: "post",
      url: new URL(`${URL_}?session=1#frag`),
      accessToken: TOKEN,
      clock,
    });
    expect(decodeProtectedHeader(proof)).toEqual({
      typ: "dpop+jwt",
      alg: "ES256",
      jwk: key.publicJwk,
    });
    const claims = decodeJwt(proof);
    expect(Object.keys(claims).sort()).toEqual(["ath", "htm", "htu", "iat", "jti"]);
    expect(claims).toMatchObject({
      htm: "POST",
      htu: URL_,
      iat: START / 1000 + 1,
      ath: await accessTokenHash(TOKEN),
    });
    expect(base64url.decode(claims.jti as string)).toHaveLength(16);
    const again = decodeJwt(await createDpopProof(key, { method: "POST", url: URL_, clock }));
    expect(again.jti).not.toBe(claims.jti);
  });

  it("no ath without an access token; the system clock by default", async () => {
    const key = await generateDpopKey("EdDSA");
    const before = Math.floor(Date.now() / 1000);
    const proof = await createDpopProof(key, { method: "GET", url: URL_ });
    const claims = decodeJwt(proof);
    expect(Object.keys(claims).sort()).toEqual(["htm", "htu", "iat", "jti"]);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(decodeProtectedHeader(proof).alg).toBe("EdDSA");
  });
});

describe("verifyDpopProof", () => {
  async function setup() {
    const key = await generateDpopKey();
    const clock = new TestClock(START);
    const replay = recordingReplay();
    const options = { method: "POST", url: URL_, accessToken: TOKEN, jkt: key.jkt, replay, clock };
    return { key, clock, replay, options };
  }

  it("a good proof is remembered as dpop:<jti> until a second past iat + the window", async () => {
    const { key, replay, options } = await setup();
    expect(await check(verifyDpopProof(await rawProof(key, await claimsFor()), options))).toBe(
      "ok",
    );
    expect(replay.calls).toEqual([["dpop:jti-1", START / 1000 + 61]]);
    expect(
      await check(
        verifyDpopProof(await rawProof(key, await claimsFor({ jti: "jti-2" })), {
          ...options,
          windowSeconds: 5,
        }),
      ),
    ).toBe("ok");
    expect(replay.calls[1]).toEqual(["dpop:jti-2", START / 1000 + 6]);
  });

  it("iat: exactly 60 s either way is accepted, a millisecond more is not", async () => {
    const { key, options } = await setup();
    const at = async (offsetMs: number, jti: string) =>
      check(
        verifyDpopProof(await rawProof(key, await claimsFor({ jti })), {
          ...options,
          clock: { now: () => START + offsetMs },
        }),
      );
    expect(await at(60_000, "a")).toBe("ok");
    expect(await at(-60_000, "b")).toBe("ok");
    expect(await at(60_001, "c")).toBe("token_invalid/iat");
    expect(await at(-60_001, "d")).toBe("token_invalid/iat");
  });

  it("windowSeconds sets the window", async () => {
    const { key, options } = await setup();
    const at = async (offsetMs: number, jti: string) =>
      check(
        verifyDpopProof(await rawProof(key, await claimsFor({ jti })), {
          ...options,
          windowSeconds: 10,
          clock: { now: () => START + offsetMs },
        }),
      );
    expect(await at(10_000, "a")).toBe("ok");
    expect(await at(10_001, "b")).toBe("token_invalid/iat");
    expect(await at(-10_001, "c")).toBe("token_invalid/iat");
  });

  it("without a clock option the system clock is used", async () => {
    const key = await generateDpopKey();
    const replay = new MemoryReplayCache();
    const proof = await createDpopProof(key, { method: "POST", url: URL_, accessToken: TOKEN });
    expect(
      await check(
        verifyDpopProof(proof, {
          method: "POST",
          url: URL_,
          accessToken: TOKEN,
          jkt: key.jkt,
          replay,
        }),
      ),
    ).toBe("ok");
  });

  it("a proof without iat is refused as iat (jose itself refuses a non-numeric one)", async () => {
    const { key, options } = await setup();
    expect(
      await check(
        verifyDpopProof(await rawProof(key, await claimsFor({ iat: undefined })), options),
      ),
    ).toBe("token_invalid/iat");
    expect(
      await check(
        verifyDpopProof(
          await rawProof(key, await claimsFor({ iat: String(START / 1000) })),
          options,
        ),
      ),
    ).toBe("token_invalid/dpop");
  });

  it("the request's method is compared upper-cased; the URL as a URL object, without query and fragment", async () => {
    const { key, options } = await setup();
    expect(
      await check(
        verifyDpopProof(await rawProof(key, await claimsFor({ jti: "a" })), {
          ...options,
          method: "post",
          url: new URL(`${URL_}?x=1#y`),
        }),
      ),
    ).toBe("ok");
    expect(
      await check(verifyDpopProof(await rawProof(key, await claimsFor({ htm: "post" })), options)),
    ).toBe("token_invalid/htm");
    expect(
      await check(
        verifyDpopProof(await rawProof(key, await claimsFor({ htu: `${URL_}?x=1` })), options),
      ),
    ).toBe("token_invalid/htu");
    expect(
      await check(
        verifyDpopProof(await rawProof(key, await claimsFor({ htu: `${URL_}/` })), options),
      ),
    ).toBe("token_invalid/htu");
  });

  it("a proof without ath, or with another token's, is refused as ath", async () => {
    const { key, options } = await setup();
    expect(
      await check(
        verifyDpopProof(await rawProof(key, await claimsFor({ ath: undefined })), options),
      ),
    ).toBe("token_invalid/ath");
    expect(
      await check(
        verifyDpopProof(
          await rawProof(key, await claimsFor({ ath: await accessTokenHash("other") })),
          options,
        ),
      ),
    ).toBe("token_invalid/ath");
  });

  it("each refusal is token_invalid with its check and nothing is remembered", async () => {
    const { key, replay, options } = await setup();
    const thief = await generateDpopKey();
    const refusals = [
      [await rawProof(key, await claimsFor({ htm: "GET" })), "token_invalid/htm"],
      [
        await rawProof(key, await claimsFor({ htu: "https://evil.example/mcp" })),
        "token_invalid/htu",
      ],
      [await rawProof(key, await claimsFor({ iat: START / 1000 - 61 })), "token_invalid/iat"],
      [await rawProof(key, await claimsFor({ ath: "x" })), "token_invalid/ath"],
      [await rawProof(thief, await claimsFor()), "token_invalid/jkt"],
      [await rawProof(key, await claimsFor(), { typ: "jwt" }), "token_invalid/dpop"],
    ] as const;
    for (const [proof, expected] of refusals) {
      expect(await check(verifyDpopProof(proof, options))).toBe(expected);
    }
    expect(replay.calls).toEqual([]);
  });

  it("a proof that does not verify keeps jose's error as the cause; other refusals have none", async () => {
    const { key, options } = await setup();
    const proof = await rawProof(key, await claimsFor());
    const [head, body] = proof.split(".");
    const forged = `${head}.${body}.${"A".repeat(86)}`;
    const error = await verifyDpopProof(forged, options).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "token_invalid", details: { check: "dpop" } });
    expect((error as Error).cause).toBeInstanceOf(Error);
    const htm = await verifyDpopProof(
      await rawProof(key, await claimsFor({ htm: "GET" })),
      options,
    ).catch((caught: unknown) => caught);
    expect(htm).toMatchObject({ details: { check: "htm" } });
    expect((htm as Error).cause).toBeUndefined();
  });

  it("a replayed proof is refused as jti", async () => {
    const { key, clock } = await setup();
    const replay = new MemoryReplayCache({ clock });
    const options = { method: "POST", url: URL_, accessToken: TOKEN, jkt: key.jkt, replay, clock };
    const proof = await rawProof(key, await claimsFor());
    expect(await check(verifyDpopProof(proof, options))).toBe("ok");
    expect(await check(verifyDpopProof(proof, options))).toBe("token_invalid/jti");
  });
});
