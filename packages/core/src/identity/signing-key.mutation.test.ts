import { calculateJwkThumbprint, compactVerify, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { JwksKeySet } from "./key-set.js";
import { MemoryKeyStore } from "./key-store.js";
import {
  importVerificationKey,
  isSigningAlgorithm,
  RSA_MODULUS_BITS,
  SIGNING_ALGORITHMS,
  SigningKey,
  type StoredKey,
} from "./signing-key.js";

// Mutation tests of signing-key.ts, key-set.ts and key-store.ts (MUTATION.md, group
// `identity-keys`): the members of generated and imported keys, each reason a stored or
// published key is refused, the JWKS fetch's bounds and the memory key store's order and copies.

const message = async (action: Promise<unknown>): Promise<string> =>
  action.then(
    () => "ok",
    (error: Error) => error.message,
  );

describe("signing algorithms", () => {
  it("EdDSA, ES256 and RS256 over 2048 bits, nothing else", () => {
    expect(SIGNING_ALGORITHMS).toEqual(["EdDSA", "ES256", "RS256"]);
    expect(RSA_MODULUS_BITS).toBe(2048);
    for (const alg of SIGNING_ALGORITHMS) expect(isSigningAlgorithm(alg)).toBe(true);
    for (const alg of ["HS256", "none", "", "eddsa", 7, undefined, ["EdDSA"]]) {
      expect(isSigningAlgorithm(alg)).toBe(false);
    }
  });
});

describe("SigningKey.generate and fromStored", () => {
  it("a stored key holds its thumbprint as kid, alg and use on both halves, only public members in the public half", async () => {
    const members = {
      EdDSA: ["alg", "crv", "kid", "kty", "use", "x"],
      ES256: ["alg", "crv", "kid", "kty", "use", "x", "y"],
      RS256: ["alg", "e", "kid", "kty", "n", "use"],
    } as const;
    for (const alg of SIGNING_ALGORITHMS) {
      const stored = await SigningKey.generate(alg, 1234);
      expect(stored.alg).toBe(alg);
      expect(stored.createdAt).toBe(1234);
      expect(Object.keys(stored.publicJwk).sort()).toEqual([...members[alg]]);
      expect(stored.publicJwk).toMatchObject({ kid: stored.kid, alg, use: "sig" });
      expect(stored.privateJwk).toMatchObject({ kid: stored.kid, alg, use: "sig" });
      expect(stored.privateJwk.d).toBeTypeOf("string");
      const { kid: _kid, alg: _alg, use: _use, ...bare } = stored.publicJwk;
      expect(stored.kid).toBe(await calculateJwkThumbprint(bare as JWK, "sha256"));
      expect(stored).not.toHaveProperty("retiresAt");
    }
    const rsa = await SigningKey.generate("RS256", 0);
    expect(Buffer.from(rsa.publicJwk.n as string, "base64url")).toHaveLength(2048 / 8);
  });

  it("generate refuses an unknown algorithm", async () => {
    await expectCode(SigningKey.generate("HS256" as never, 0), "invalid_configuration");
  });

  it("fromStored loads a key that signs and verifies, with a frozen public JWK, its times and a non-extractable private key", async () => {
    for (const alg of SIGNING_ALGORITHMS) {
      const stored = { ...(await SigningKey.generate(alg, 5)), retiresAt: 10 };
      const key = await SigningKey.fromStored(stored);
      expect([key.kid, key.alg, key.createdAt, key.retiresAt]).toEqual([stored.kid, alg, 5, 10]);
      expect(key.publicJwk).toEqual(stored.publicJwk);
      expect(Object.isFrozen(key.publicJwk)).toBe(true);
      expect(key.privateKey().extractable).toBe(false);
      expect(key.toJSON()).toEqual({ kid: stored.kid, alg, publicJwk: stored.publicJwk });
      const jws = await new SignJWT({ a: 1 }).setProtectedHeader({ alg }).sign(key.privateKey());
      await expect(compactVerify(jws, key.key)).resolves.toBeDefined();
    }
  });

  it("isLive: always without retiresAt; until the millisecond before it with one", async () => {
    const stored = await SigningKey.generate("EdDSA", 0);
    const forever = await SigningKey.fromStored(stored);
    expect(forever.isLive(Number.MAX_SAFE_INTEGER)).toBe(true);
    const retiring = await SigningKey.fromStored({ ...stored, retiresAt: 1000 });
    expect(retiring.isLive(999)).toBe(true);
    expect(retiring.isLive(1000)).toBe(false);
  });

  it("fromStored refuses, each with its reason: an unknown algorithm, a kid that is not the thumbprint, halves that do not match", async () => {
    const ec = await SigningKey.generate("ES256", 0);
    const other = await SigningKey.generate("ES256", 0);
    const rsa = await SigningKey.generate("RS256", 0);
    const otherRsa = await SigningKey.generate("RS256", 0);
    const cases: [StoredKey, string][] = [
      [{ ...ec, alg: "HS256" as never }, "unsupported algorithm"],
      [{ ...ec, kid: other.kid }, "kid is not the key's RFC 7638 thumbprint"],
      [
        { ...ec, privateJwk: { ...ec.privateJwk, x: other.privateJwk.x } },
        "private and public parts do not match",
      ],
      [
        { ...ec, privateJwk: { ...ec.privateJwk, y: other.privateJwk.y } },
        "private and public parts do not match",
      ],
      [
        { ...rsa, privateJwk: { ...rsa.privateJwk, n: otherRsa.privateJwk.n } },
        "private and public parts do not match",
      ],
      [
        { ...rsa, privateJwk: { ...rsa.privateJwk, e: "AQAB".replace("B", "A") } },
        "private and public parts do not match",
      ],
    ];
    for (const [stored, reason] of cases) {
      expect(await message(SigningKey.fromStored(stored))).toBe(
        `Key ${stored.kid} cannot be loaded: ${reason}.`,
      );
      await expectCode(SigningKey.fromStored(stored), "key_store_invalid");
    }
    // A private half jose cannot import (the matching members are right, d is not).
    const broken = { ...ec, privateJwk: { ...ec.privateJwk, d: "AAAA" } };
    await expectCode(SigningKey.fromStored(broken), "key_store_invalid");
  });
});

describe("importVerificationKey", () => {
  it("imports the public members only: a key with extra members and key_ops imports as a verification key", async () => {
    const stored = await SigningKey.generate("ES256", 0);
    const jwk = { ...stored.publicJwk, key_ops: ["sign"], ext: false } as JWK;
    const key = await importVerificationKey(jwk);
    expect([key.kid, key.alg]).toEqual([stored.kid, "ES256"]);
    const signing = await SigningKey.fromStored(stored);
    const jws = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256" })
      .sign(signing.privateKey());
    await expect(compactVerify(jws, key.key)).resolves.toBeDefined();
  });

  it("refuses a JWK without a supported alg, without a kid, with a private part, or that does not import", async () => {
    const stored = await SigningKey.generate("EdDSA", 0);
    const refused: [JWK, string][] = [
      [{ ...stored.publicJwk, alg: "HS256" }, `JWK ${stored.kid} has no supported "alg".`],
      [{ ...stored.publicJwk, alg: undefined }, `JWK ${stored.kid} has no supported "alg".`],
      [{ ...stored.publicJwk, kid: "" }, "A JWK in the set has no kid."],
      [{ ...stored.publicJwk, kid: 5 as never }, "A JWK in the set has no kid."],
      [{ ...stored.publicJwk, kid: undefined }, "A JWK in the set has no kid."],
      [
        { ...stored.publicJwk, d: stored.privateJwk.d },
        `JWK ${stored.kid} contains a private key.`,
      ],
      [{ ...stored.publicJwk, x: "AAAA" }, `JWK ${stored.kid} cannot be imported.`],
    ];
    for (const [jwk, expected] of refused) {
      expect(await message(importVerificationKey(jwk))).toBe(expected);
      await expectCode(importVerificationKey(jwk), "key_store_invalid");
    }
  });
});

describe("JwksKeySet", () => {
  async function jwksOf(count: number) {
    const keys: JWK[] = [];
    for (let i = 0; i < count; i++) keys.push((await SigningKey.generate("EdDSA", i)).publicJwk);
    return { keys };
  }

  function fetcher(body: string, status = 200) {
    const calls: { url: string; init: RequestInit | undefined }[] = [];
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), init });
      return new Response(body, { status });
    }) as typeof globalThis.fetch;
    return { calls, fetch };
  }

  it("fetches the vetted URL once, refusing redirects, asking for JSON, with a timeout signal", async () => {
    const jwks = await jwksOf(2);
    const { calls, fetch } = fetcher(JSON.stringify(jwks));
    const set = await JwksKeySet.fromUrl("https://issuer.acme.example/jwks.json", { fetch });
    expect(calls.map((call) => call.url)).toEqual(["https://issuer.acme.example/jwks.json"]);
    expect(calls[0]?.init?.redirect).toBe("error");
    expect(calls[0]?.init?.headers).toEqual({ accept: "application/json" });
    expect(calls[0]?.init?.signal).toBeInstanceOf(AbortSignal);
    for (const key of jwks.keys)
      expect(set.getVerificationKey(key.kid as string)?.kid).toBe(key.kid);
    expect(set.getVerificationKey("nope")).toBeUndefined();
  });

  it("a JWKS of exactly maxBytes is read, one byte more is not (default 65,536)", async () => {
    const padded = (length: number) => {
      const prefix = '{"keys":[],"pad":"';
      return `${prefix}${"x".repeat(length - prefix.length - 2)}"}`;
    };
    const read = (body: string, maxBytes?: number) =>
      JwksKeySet.fromUrl("https://issuer.acme.example/jwks.json", {
        fetch: fetcher(body).fetch,
        ...(maxBytes === undefined ? {} : { maxBytes }),
      });
    await expect(read(padded(65_536))).resolves.toBeInstanceOf(JwksKeySet);
    await expectCode(read(padded(65_537)), "key_store_invalid");
    await expect(read(padded(100), 100)).resolves.toBeInstanceOf(JwksKeySet);
    await expectCode(read(padded(101), 100), "key_store_invalid");
  });

  it("a non-200 answer, a failed fetch, invalid or too deep JSON, no keys array and a repeated kid are key_store_invalid", async () => {
    const url = "https://issuer.acme.example/jwks.json";
    const jwks = await jwksOf(1);
    await expect(
      JwksKeySet.fromUrl(url, { fetch: fetcher(JSON.stringify(jwks), 201).fetch }),
    ).rejects.toMatchObject({
      code: "key_store_invalid",
      cause: { message: "HTTP 201" },
    });
    const failing = (async () => {
      throw new Error("offline");
    }) as typeof fetch;
    await expect(JwksKeySet.fromUrl(url, { fetch: failing })).rejects.toMatchObject({
      code: "key_store_invalid",
      cause: { message: "offline" },
    });
    const invalid = await JwksKeySet.fromUrl(url, { fetch: fetcher("{nope").fetch }).catch(
      (error: Error) => error,
    );
    expect(invalid).toMatchObject({
      code: "key_store_invalid",
      message: "The JWKS is not valid JSON.",
    });
    expect((invalid as Error).cause).toBeInstanceOf(Error);
    // Depth 4 is the limit: the set, its keys array, a key, one member object.
    await expect(
      JwksKeySet.fromUrl(url, { fetch: fetcher('{"keys":[],"a":{"b":{"c":{}}}}').fetch }),
    ).resolves.toBeInstanceOf(JwksKeySet);
    await expectCode(
      JwksKeySet.fromUrl(url, { fetch: fetcher('{"keys":[],"a":{"b":{"c":{"d":{}}}}}').fetch }),
      "key_store_invalid",
    );
    for (const body of ["null", "[]", '{"keys":{}}', "{}", '"keys"']) {
      expect(await message(JwksKeySet.fromUrl(url, { fetch: fetcher(body).fetch }))).toBe(
        "The JWKS has no keys array.",
      );
    }
    const twice = { keys: [jwks.keys[0], jwks.keys[0]] };
    expect(await message(JwksKeySet.fromJwks(twice as never))).toBe(
      `The JWKS holds kid ${jwks.keys[0]?.kid} twice.`,
    );
  });

  it("update replaces every key: one absent from the new set stops verifying", async () => {
    const first = await jwksOf(1);
    const second = await jwksOf(1);
    const set = await JwksKeySet.fromJwks(first);
    await set.update(second);
    expect(set.getVerificationKey(first.keys[0]?.kid as string)).toBeUndefined();
    expect(set.getVerificationKey(second.keys[0]?.kid as string)).toBeDefined();
  });
});

describe("MemoryKeyStore", () => {
  it("loads oldest first, keeps copies, removes, and lists only kids in JSON", async () => {
    const store = new MemoryKeyStore();
    const newer = await SigningKey.generate("EdDSA", 20);
    const older = await SigningKey.generate("EdDSA", 10);
    const middle = await SigningKey.generate("EdDSA", 15);
    await store.save(newer);
    await store.save(older);
    await store.save(middle);
    expect((await store.load()).map((key) => key.createdAt)).toEqual([10, 15, 20]);
    (newer.publicJwk as { kid?: string }).kid = "changed";
    expect((await store.load())[2]?.publicJwk.kid).toBe(newer.kid);
    await store.save({ ...older, retiresAt: 99 });
    expect((await store.load()).map((key) => [key.createdAt, key.retiresAt])).toEqual([
      [10, 99],
      [15, undefined],
      [20, undefined],
    ]);
    expect(JSON.parse(JSON.stringify(store))).toEqual({ keys: [newer.kid, older.kid, middle.kid] });
    await store.remove(older.kid);
    await store.remove("never-there");
    expect((await store.load()).map((key) => key.kid)).toEqual([middle.kid, newer.kid]);
  });
});
