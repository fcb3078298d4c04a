import { createHash } from "node:crypto";
import {
  base64url,
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  SignJWT,
} from "jose";
import { describe, expect, it } from "vitest";
import { checkOf } from "../../test/fixtures/expect-code.js";
import { recordingReplay } from "../../test/fixtures/recording-replay.js";
import { AgentGateError } from "../errors.js";
import { TestClock } from "../testing/test-clock.js";
import {
  argumentsHash,
  CALL_PROOF_TYPE,
  createCallProof,
  type VerifyCallProofOptions,
  verifyCallProof,
} from "./call-proof.js";
import { accessTokenHash, DPOP_PROOF_TYPE, type DpopKey, generateDpopKey } from "./dpop.js";
import { MemoryReplayCache } from "./replay-cache.js";

// Mutation tests of call-proof.ts and proof-jwt.ts (MUTATION.md, group `identity-proofs`): the
// call proof's exact header and claims, each check of verifyCallProof at its edge (M109–M111),
// what proof-jwt.ts checks for every proof (size, typ, algorithms, the jti), and the canonical
// JSON whose hash a proof signs.

const TOKEN = "header.payload.signature";
const CALL = { method: "tools/call", tool: "lookup", arguments: { customerId: "acme", n: 1 } };
// A whole second, so that a proof's iat is exactly now.
const START = Date.parse("2026-01-05T10:00:00Z");

/** `code/check` of the refusal, or `ok`. */
const check = checkOf;

async function refusal(promise: Promise<unknown>): Promise<AgentGateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentGateError);
  return error as AgentGateError;
}

/** base64url(SHA-256(text)): what argumentsHash must give for canonical JSON `text`. */
const sha = (text: string) => createHash("sha256").update(text).digest("base64url");

/** A call proof signed by `key` with exactly these claims and header members. */
async function rawProof(
  key: DpopKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ typ: CALL_PROOF_TYPE, alg: key.alg, jwk: key.publicJwk, ...header })
    .sign(key.privateKey);
}

async function claimsFor(overrides: Record<string, unknown> = {}) {
  return {
    mcp_method: CALL.method,
    mcp_tool: CALL.tool,
    args: await argumentsHash(CALL.arguments),
    ath: await accessTokenHash(TOKEN),
    iat: START / 1000,
    jti: "jti-1",
    ...overrides,
  };
}

function setup(overrides: Partial<VerifyCallProofOptions> = {}) {
  const clock = new TestClock(START);
  const replay = new MemoryReplayCache({ clock });
  const options: VerifyCallProofOptions = {
    ...CALL,
    accessToken: TOKEN,
    replay,
    clock,
    ...overrides,
  };
  return { clock, replay, options };
}

describe("createCallProof", () => {
  it("M109: the exact header and claims, on the clock it is given; no mcp_tool without a tool", async () => {
    const key = await generateDpopKey();
    const clock = new TestClock(START + 999);
    const proof = await createCallProof(key, { ...CALL, accessToken: TOKEN, clock });
    expect(decodeProtectedHeader(proof)).toEqual({
      typ: CALL_PROOF_TYPE,
      alg: "ES256",
      jwk: key.publicJwk,
    });
    const claims = decodeJwt(proof);
    expect(Object.keys(claims).sort()).toEqual(
      ["args", "ath", "iat", "jti", "mcp_method", "mcp_tool"].sort(),
    );
    expect(claims).toMatchObject({
      mcp_method: "tools/call",
      mcp_tool: "lookup",
      args: sha('{"customerId":"acme","n":1}'),
      ath: sha(TOKEN),
      iat: START / 1000,
    });
    // 16 random bytes, base64url: a fresh jti each time.
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const again = await createCallProof(key, { ...CALL, accessToken: TOKEN, clock });
    expect(decodeJwt(again).jti).not.toBe(claims.jti);

    const list = await createCallProof(key, { method: "tools/list", accessToken: TOKEN, clock });
    const listClaims = decodeJwt(list);
    expect("mcp_tool" in listClaims).toBe(false);
    expect(listClaims.args).toBe(sha("{}"));
    const { options } = setup({ method: "tools/list", tool: undefined, arguments: undefined });
    expect(await verifyCallProof(list, options)).toBe(key.jkt);
  });

  it("an EdDSA key signs EdDSA proofs; without a clock the proof is of the machine's time", async () => {
    const key = await generateDpopKey("EdDSA");
    const before = Math.floor(Date.now() / 1000);
    const proof = await createCallProof(key, { ...CALL, accessToken: TOKEN });
    const after = Math.ceil(Date.now() / 1000);
    expect(decodeProtectedHeader(proof).alg).toBe("EdDSA");
    const iat = decodeJwt(proof).iat as number;
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(iat).toBeLessThanOrEqual(after);
    // And it verifies on the machine's clock too.
    const replay = new MemoryReplayCache();
    expect(await verifyCallProof(proof, { ...CALL, accessToken: TOKEN, replay })).toBe(key.jkt);
  });
});

describe("verifyCallProof", () => {
  it("M109: resolves with the proof key's RFC 7638 thumbprint", async () => {
    const key = await generateDpopKey("EdDSA");
    const { options } = setup();
    const thumbprint = await verifyCallProof(await rawProof(key, await claimsFor()), options);
    expect(thumbprint).toBe(key.jkt);
    expect(thumbprint).toBe(await calculateJwkThumbprint(key.publicJwk));
  });

  it("M109: a proof without a tool is for a call without one only", async () => {
    const key = await generateDpopKey();
    const { mcp_tool: _tool, ...noTool } = await claimsFor();
    const { options } = setup();
    expect(await check(verifyCallProof(await rawProof(key, noTool), options))).toBe(
      "token_invalid/tool",
    );
    const proof = await rawProof(key, await claimsFor({ jti: "jti-2" }));
    const { options: without } = setup({ tool: undefined });
    expect(await check(verifyCallProof(proof, without))).toBe("token_invalid/tool");
    const { options: none } = setup({ tool: undefined });
    expect(await check(verifyCallProof(await rawProof(key, noTool), none))).toBe("ok");
  });

  it("M111: iat exactly at the window's edge is accepted, a second beyond refused; iat is required", async () => {
    const key = await generateDpopKey();
    for (const [offset, expected] of [
      [60, "ok"],
      [-60, "ok"],
      [61, "token_invalid/iat"],
      [-61, "token_invalid/iat"],
    ] as const) {
      const { options } = setup();
      const proof = await rawProof(key, await claimsFor({ iat: START / 1000 + offset }));
      expect(await check(verifyCallProof(proof, options)), String(offset)).toBe(expected);
    }
    // The clock of the options decides, not the machine's.
    const { options } = setup();
    const proof = await rawProof(key, await claimsFor({ iat: START / 1000 + 0.5 }));
    expect(await check(verifyCallProof(proof, options))).toBe("ok");
    const { iat: _iat, ...noIat } = await claimsFor();
    expect(await check(verifyCallProof(await rawProof(key, noIat), setup().options))).toBe(
      "token_invalid/iat",
    );
  });

  it("M111: windowSeconds sets the window both ways and how long the jti is remembered", async () => {
    const key = await generateDpopKey();
    const replay = recordingReplay();
    const { options } = setup({ windowSeconds: 5, replay });
    for (const [offset, expected] of [
      [5, "ok"],
      [-5, "ok"],
      [6, "token_invalid/iat"],
      [-6, "token_invalid/iat"],
    ] as const) {
      const proof = await rawProof(
        key,
        await claimsFor({ iat: START / 1000 + offset, jti: `w${offset}` }),
      );
      expect(await check(verifyCallProof(proof, options)), String(offset)).toBe(expected);
    }
    // Remembered until a second past iat + window, under the call proofs' own prefix.
    expect(replay.calls).toEqual([
      ["call:w5", START / 1000 + 11],
      ["call:w-5", START / 1000 + 1],
    ]);
    const late = await rawProof(key, await claimsFor({ iat: START / 1000 + 90, jti: "late" }));
    expect(await check(verifyCallProof(late, options))).toBe("token_invalid/iat");
    expect(await check(verifyCallProof(late, { ...options, windowSeconds: 100 }))).toBe("ok");
  });

  it("M110: the replay of a proof within its window is refused, however late in the window", async () => {
    const key = await generateDpopKey();
    const { clock, options } = setup();
    const proof = await rawProof(key, await claimsFor());
    expect(await check(verifyCallProof(proof, options))).toBe("ok");
    clock.advance(59_000);
    expect(await check(verifyCallProof(proof, options))).toBe("token_invalid/jti");
    clock.advance(1_000);
    expect(await check(verifyCallProof(proof, options))).toBe("token_invalid/jti");
  });

  it("M110: a missing, empty, non-string or over-long jti is refused; 128 characters are accepted", async () => {
    const key = await generateDpopKey();
    const { jti: _jti, ...noJti } = await claimsFor();
    expect(await check(verifyCallProof(await rawProof(key, noJti), setup().options))).toBe(
      "token_invalid/jti",
    );
    for (const jti of ["", 5, "x".repeat(129), ["a"]]) {
      const proof = await rawProof(key, await claimsFor({ jti }));
      expect(await check(verifyCallProof(proof, setup().options)), String(jti)).toBe(
        "token_invalid/jti",
      );
    }
    const proof = await rawProof(key, await claimsFor({ jti: "x".repeat(128) }));
    expect(await check(verifyCallProof(proof, setup().options))).toBe("ok");
  });

  it("M110: a proof refused for another reason does not use up its jti", async () => {
    const key = await generateDpopKey();
    const replay = recordingReplay();
    const { options } = setup({ replay });
    const proof = await rawProof(key, await claimsFor({ iat: START / 1000 + 120 }));
    expect(await check(verifyCallProof(proof, options))).toBe("token_invalid/iat");
    expect(replay.calls).toEqual([]);
  });

  it("M109: arguments that cannot be hashed are args, with the cause", async () => {
    const key = await generateDpopKey();
    let deep: unknown = 1;
    for (let i = 0; i < 100; i += 1) deep = [deep];
    const { options } = setup({ arguments: deep });
    const error = await refusal(verifyCallProof(await rawProof(key, await claimsFor()), options));
    expect(error.code).toBe("token_invalid");
    expect(error.details).toEqual({ check: "args" });
    expect(error.cause).toBeInstanceOf(RangeError);
    // A proof for other arguments has no cause: nothing failed, they differ.
    const other = await refusal(
      verifyCallProof(
        await rawProof(key, await claimsFor()),
        setup({ arguments: { customerId: "globex", n: 1 } }).options,
      ),
    );
    expect(other.details).toEqual({ check: "args" });
    expect(other.cause).toBeUndefined();
  });
});

describe("proof-jwt: what every proof must be", () => {
  it("M109: no proof, an empty one, and one that does not verify are proof; only the last has jose's cause", async () => {
    const key = await generateDpopKey();
    const { options } = setup();
    for (const proof of [undefined, ""]) {
      const error = await refusal(verifyCallProof(proof, options));
      expect(error.details).toEqual({ check: "proof" });
      expect(error.message).toBe("Invalid call proof: no proof.");
      expect(error.cause).toBeUndefined();
    }
    const parts = (await rawProof(key, await claimsFor())).split(".");
    const other = await rawProof(key, await claimsFor({ jti: "other" }));
    const spliced = `${parts[0]}.${parts[1]}.${other.split(".")[2]}`;
    const error = await refusal(verifyCallProof(spliced, options));
    expect(error.details).toEqual({ check: "proof" });
    expect(error.message).toBe("Invalid call proof: the proof does not verify.");
    expect((error.cause as { code?: string }).code).toBe("ERR_JWS_SIGNATURE_VERIFICATION_FAILED");
  });

  it("G54: a proof of 4,096 characters is verified, one of 4,097 is refused before jose sees it", async () => {
    const key = await generateDpopKey();
    /** A valid proof of exactly `length` characters, padded in a header member and a claim. */
    const sized = async (length: number, jti: string) => {
      for (let header = 0; header < 8; header += 1) {
        for (let claim = 2000; claim < 3500; claim += 1) {
          const proof = await rawProof(key, await claimsFor({ jti, pad: "p".repeat(claim) }), {
            pad: "h".repeat(header),
          });
          if (proof.length === length) return proof;
          if (proof.length > length) break;
        }
      }
      throw new Error(`no proof of ${length} characters`);
    };
    const largest = await sized(4096, "at-limit");
    expect(largest.length).toBe(4096);
    expect(await check(verifyCallProof(largest, setup().options))).toBe("ok");
    const over = await sized(4097, "over-limit");
    const error = await refusal(verifyCallProof(over, setup().options));
    expect(error.details).toEqual({ check: "proof" });
    expect(error.message).toBe("Invalid call proof: the proof is too large.");
    expect(error.cause).toBeUndefined();
  });

  it("M109: a DPoP proof (typ dpop+jwt) or an untyped JWT with a call proof's claims is no call proof", async () => {
    const key = await generateDpopKey();
    for (const typ of [DPOP_PROOF_TYPE, "JWT", undefined]) {
      const proof = await rawProof(key, await claimsFor(), { typ });
      expect(await check(verifyCallProof(proof, setup().options)), String(typ)).toBe(
        "token_invalid/proof",
      );
    }
  });

  it("M109: only ES256 and EdDSA proofs: ES384 and RS256 keys in the header are refused", async () => {
    for (const alg of ["ES384", "RS256", "PS256"] as const) {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      const jwk = await exportJWK(publicKey);
      const proof = await new SignJWT(await claimsFor())
        .setProtectedHeader({ typ: CALL_PROOF_TYPE, alg, jwk })
        .sign(privateKey);
      expect(await check(verifyCallProof(proof, setup().options)), alg).toBe("token_invalid/proof");
    }
  });

  it("M109: a proof whose header holds a private key, or no key, is refused", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const claims = await claimsFor();
    const withPrivate = await new SignJWT(claims)
      .setProtectedHeader({ typ: CALL_PROOF_TYPE, alg: "ES256", jwk: privateJwk })
      .sign(privateKey);
    expect(await check(verifyCallProof(withPrivate, setup().options))).toBe("token_invalid/proof");
    const noKey = await new SignJWT(claims)
      .setProtectedHeader({ typ: CALL_PROOF_TYPE, alg: "ES256" })
      .sign(privateKey);
    expect(await check(verifyCallProof(noKey, setup().options))).toBe("token_invalid/proof");
    // The same key, public, verifies.
    const good = await new SignJWT(claims)
      .setProtectedHeader({ typ: CALL_PROOF_TYPE, alg: "ES256", jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    expect(await check(verifyCallProof(good, setup().options))).toBe("ok");
  });
});

describe("argumentsHash: the canonical JSON a call proof signs", () => {
  it("sorted keys, no whitespace, undefined members left out, arrays in order", async () => {
    expect(await argumentsHash({ b: [1, "x", [true]], a: { d: null, c: 1.5 }, e: undefined })).toBe(
      sha('{"a":{"c":1.5,"d":null},"b":[1,"x",[true]]}'),
    );
    expect(await argumentsHash([{ z: 1, y: 2 }, "s"])).toBe(sha('[{"y":2,"z":1},"s"]'));
    expect(await argumentsHash({})).toBe(sha("{}"));
    expect(await argumentsHash([])).toBe(sha("[]"));
    expect(await argumentsHash(undefined)).toBe(sha("{}"));
    expect(await argumentsHash(null)).toBe(sha("{}"));
    expect(await argumentsHash("text")).toBe(sha('"text"'));
    expect(await argumentsHash(0)).toBe(sha("0"));
    expect(await argumentsHash(false)).toBe(sha("false"));
    // Keys and strings escaped as JSON writes them.
    expect(await argumentsHash({ 'k"\n': "v\u0000" })).toBe(sha('{"k\\"\\n":"v\\u0000"}'));
  });

  it("as JSON.stringify writes them: toJSON, undefined, functions and symbols in arrays, NaN", async () => {
    const at = new Date("2026-01-05T10:00:00Z");
    expect(await argumentsHash({ at })).toBe(sha('{"at":"2026-01-05T10:00:00.000Z"}'));
    expect(await argumentsHash({ custom: { toJSON: () => ({ b: 1, a: 2 }) } })).toBe(
      sha('{"custom":{"a":2,"b":1}}'),
    );
    expect(await argumentsHash([undefined, () => 1, Symbol("s"), Number.NaN, 1])).toBe(
      sha("[null,null,null,null,1]"),
    );
  });

  it("G54: nesting 64 levels deep is hashed, 65 is refused", async () => {
    const nested = (levels: number): unknown => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i += 1) value = [value];
      return value;
    };
    // 64 arrays around a number: the number is at depth 64.
    expect(await argumentsHash(nested(64))).toBe(sha(`${"[".repeat(64)}1${"]".repeat(64)}`));
    await expect(argumentsHash(nested(65))).rejects.toThrow(RangeError);
    const objects = (levels: number): unknown => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i += 1) value = { a: value };
      return value;
    };
    expect(await argumentsHash(objects(64))).toBe(sha(`${'{"a":'.repeat(64)}1${"}".repeat(64)}`));
    await expect(argumentsHash(objects(65))).rejects.toThrow(RangeError);
  });

  it("the hash is base64url of the SHA-256", async () => {
    const digest = createHash("sha256").update('{"a":1}').digest();
    expect(await argumentsHash({ a: 1 })).toBe(base64url.encode(new Uint8Array(digest)));
  });
});
