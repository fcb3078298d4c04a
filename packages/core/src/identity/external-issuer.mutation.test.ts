import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { TestClock } from "../testing/index.js";
import {
  ExternalIssuer,
  type ExternalIssuerConfig,
  type ExternalIssuerOptions,
} from "./external-issuer.js";

// Mutation tests of ExternalIssuer (MUTATION.md, group `identity-exchange`): discovery, the key
// cache's refresh rules, every claim check at its boundary and the user it maps. The IdP is a
// fetch function over fixed documents, so every request it gets is visible.

const ISSUER = "https://idp.acme.example";
const CLIENT = "agentgate";
const JWKS_URI = "https://idp.acme.example/keys";
const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`;
const NOW = 1_800_000_000_000;
const SECONDS = NOW / 1000;

interface Key {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: false });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return { kid, privateKey, publicJwk };
}

interface Call {
  readonly url: string;
  readonly init: RequestInit | undefined;
}

/** A stand-in IdP: `documents` by URL (a string body, or status and body). */
function fakeIdp(documents: Map<string, string | { status: number; body: string }>) {
  const calls: Call[] = [];
  const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push({ url, init });
    const document = documents.get(url);
    if (document === undefined) return new Response("not found", { status: 404 });
    return typeof document === "string"
      ? new Response(document, { status: 200 })
      : new Response(document.body, { status: document.status });
  }) as typeof fetch;
  return { calls, fetcher };
}

async function setup(
  options: {
    config?: Partial<ExternalIssuerConfig>;
    issuer?: ExternalIssuerOptions;
    discovery?: Record<string, unknown>;
    jwks?: { keys: JWK[] };
  } = {},
) {
  const key = await newKey("k1");
  const jwks = options.jwks ?? { keys: [key.publicJwk] };
  const documents = new Map<string, string | { status: number; body: string }>([
    [DISCOVERY, JSON.stringify(options.discovery ?? { issuer: ISSUER, jwks_uri: JWKS_URI })],
    [JWKS_URI, JSON.stringify(jwks)],
  ]);
  const { calls, fetcher } = fakeIdp(documents);
  const clock = new TestClock(NOW);
  const trusted = await ExternalIssuer.discover(
    { issuer: ISSUER, audience: CLIENT, ...options.config },
    { fetch: fetcher, clock, ...options.issuer },
  );
  return { key, jwks, documents, calls, clock, trusted };
}

async function sign(
  key: Key,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: key.kid, ...header })
    .sign(key.privateKey);
}

const base = (overrides: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: CLIENT,
  sub: "alice",
  exp: SECONDS + 300,
  iat: SECONDS,
  ...overrides,
});

async function failure(action: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await action;
  } catch (error) {
    if (!isAgentGateError(error)) throw error;
    return { code: error.code, message: error.message };
  }
  throw new Error("expected a refusal");
}

async function codeOf(action: Promise<unknown>): Promise<string> {
  return (await failure(action)).code;
}

describe("ExternalIssuer.discover", () => {
  it("fetches the discovery document, then the JWKS it names, with redirects refused and JSON asked for", async () => {
    const { calls } = await setup();
    expect(calls.map((call) => call.url)).toEqual([DISCOVERY, JWKS_URI]);
    for (const call of calls) {
      expect(call.init?.redirect).toBe("error");
      expect(call.init?.headers).toEqual({ accept: "application/json" });
      expect(call.init?.signal).toBeInstanceOf(AbortSignal);
    }
  });

  it("appends the well-known path once: to a bare host, to a path, to a path with a trailing slash", async () => {
    for (const [issuer, expected] of [
      ["https://idp.acme.example", "https://idp.acme.example/.well-known/openid-configuration"],
      ["https://idp.acme.example/", "https://idp.acme.example/.well-known/openid-configuration"],
      [
        "https://idp.acme.example/t1",
        "https://idp.acme.example/t1/.well-known/openid-configuration",
      ],
      [
        "https://idp.acme.example/t1/",
        "https://idp.acme.example/t1/.well-known/openid-configuration",
      ],
    ] as const) {
      const { calls, fetcher } = fakeIdp(new Map());
      await codeOf(ExternalIssuer.discover({ issuer, audience: CLIENT }, { fetch: fetcher }));
      expect(calls.map((call) => call.url)).toEqual([expected]);
    }
  });

  it("needs a non-empty string audience", async () => {
    const { fetcher, calls } = fakeIdp(new Map());
    for (const audience of ["", 5, undefined]) {
      expect(
        await codeOf(
          ExternalIssuer.discover(
            { issuer: ISSUER, audience: audience as string },
            { fetch: fetcher },
          ),
        ),
      ).toBe("invalid_configuration");
    }
    expect(calls).toEqual([]);
  });

  it("refuses a discovery document naming another issuer, or no string jwks_uri", async () => {
    for (const discovery of [
      { issuer: "https://other.acme.example", jwks_uri: JWKS_URI },
      { issuer: ISSUER },
      { issuer: ISSUER, jwks_uri: 7 },
    ]) {
      // Refused as a bad document, before any URL is vetted (no metadata_url check).
      await expect(setup({ discovery })).rejects.toMatchObject({
        code: "invalid_configuration",
        details: undefined,
      });
    }
  });

  it("vets the jwks_uri as a metadata URL (I67)", async () => {
    await expect(
      setup({ discovery: { issuer: ISSUER, jwks_uri: "http://169.254.169.254/keys" } }),
    ).rejects.toMatchObject({ code: "invalid_configuration", details: { check: "metadata_url" } });
  });

  it("reads the discovery document only from a 200 response, up to 65,536 characters, as a JSON object", async () => {
    const good = JSON.stringify({ issuer: ISSUER, jwks_uri: JWKS_URI });
    const padded = (length: number) => {
      const prefix = `{"issuer":"${ISSUER}","jwks_uri":"${JWKS_URI}","pad":"`;
      return `${prefix}${"x".repeat(length - prefix.length - 2)}"}`;
    };
    expect(padded(65_536)).toHaveLength(65_536);
    const key = await newKey("k1");
    const cases: [string | { status: number; body: string }, string | undefined][] = [
      [{ status: 404, body: good }, "key_store_invalid"],
      [{ status: 201, body: good }, "key_store_invalid"],
      [padded(65_536), undefined],
      [padded(65_537), "key_store_invalid"],
      ["[]", "key_store_invalid"],
      ["null", "key_store_invalid"],
      ['"text"', "key_store_invalid"],
      ["{not json", "key_store_invalid"],
      [`{"issuer":"${ISSUER}","jwks_uri":"${JWKS_URI}","a":{"b":{"c":{"d":{"e":{}}}}}}`, undefined],
      [
        `{"issuer":"${ISSUER}","jwks_uri":"${JWKS_URI}","a":{"b":{"c":{"d":{"e":{"f":{}}}}}}}`,
        "key_store_invalid",
      ],
    ];
    for (const [document, expected] of cases) {
      const { fetcher } = fakeIdp(
        new Map([
          [DISCOVERY, document],
          [JWKS_URI, JSON.stringify({ keys: [key.publicJwk] })],
        ]),
      );
      const discovered = ExternalIssuer.discover(
        { issuer: ISSUER, audience: CLIENT },
        { fetch: fetcher },
      );
      if (expected === undefined) await expect(discovered).resolves.toBeInstanceOf(ExternalIssuer);
      else expect(await codeOf(discovered)).toBe(expected);
    }
  });

  it("keeps the cause of a failed read", async () => {
    const { fetcher } = fakeIdp(new Map([[DISCOVERY, { status: 503, body: "{}" }]]));
    await expect(
      ExternalIssuer.discover({ issuer: ISSUER, audience: CLIENT }, { fetch: fetcher }),
    ).rejects.toMatchObject({ code: "key_store_invalid", cause: { message: "HTTP 503" } });
  });

  it("names the issuer and audience it was configured with", async () => {
    const { trusted } = await setup();
    expect(trusted.issuer).toBe(ISSUER);
    expect(trusted.audience).toBe(CLIENT);
  });
});

describe("ExternalIssuer.verify: the user", () => {
  it("maps sub, email and groups by default, into a frozen user", async () => {
    const { key, trusted } = await setup();
    const user = await trusted.verify(
      await sign(key, base({ email: "alice@acme.example", groups: ["staff", "eu"] })),
    );
    expect(user).toEqual({
      id: "user:alice@acme.example",
      subject: "alice",
      email: "alice@acme.example",
      groups: ["staff", "eu"],
      issuer: ISSUER,
      expiresAt: SECONDS + 300,
    });
    expect(Object.isFrozen(user)).toBe(true);
    expect(Object.isFrozen(user.groups)).toBe(true);
  });

  it("without an email the id is the subject's; without groups the groups are empty", async () => {
    const { key, trusted } = await setup();
    const user = await trusted.verify(await sign(key, base()));
    expect(user).toEqual({
      id: "user:alice",
      subject: "alice",
      email: undefined,
      groups: [],
      issuer: ISSUER,
      expiresAt: SECONDS + 300,
    });
  });

  it("a claim mapping renames each of sub, email and groups, one at a time", async () => {
    const claims = base({
      sub: "default-sub",
      uid: "mapped-sub",
      email: "default@acme.example",
      mail: "mapped@acme.example",
      groups: ["default"],
      roles: ["mapped"],
    });
    const mapped = async (mapping: Record<string, string>) => {
      const { key, trusted } = await setup({ config: { claims: mapping } });
      const user = await trusted.verify(await sign(key, claims));
      return [user.subject, user.email, user.groups];
    };
    expect(await mapped({})).toEqual(["default-sub", "default@acme.example", ["default"]]);
    expect(await mapped({ sub: "uid" })).toEqual([
      "mapped-sub",
      "default@acme.example",
      ["default"],
    ]);
    expect(await mapped({ email: "mail" })).toEqual([
      "default-sub",
      "mapped@acme.example",
      ["default"],
    ]);
    expect(await mapped({ groups: "roles" })).toEqual([
      "default-sub",
      "default@acme.example",
      ["mapped"],
    ]);
  });

  it("a subject is 1 to 200 printable ASCII characters without spaces", async () => {
    const { key, trusted } = await setup();
    for (const sub of ["a", "~!", "s".repeat(200)]) {
      await expect(trusted.verify(await sign(key, base({ sub })))).resolves.toMatchObject({
        subject: sub,
      });
    }
    for (const sub of ["", "s".repeat(201), " alice", "alice ", "al ice", "alicé", 42, null]) {
      expect(await failure(trusted.verify(await sign(key, base({ sub }))))).toMatchObject({
        code: "token_invalid",
        message: expect.stringContaining("sub"),
      });
    }
  });

  it("an email is used only when it is local@domain: 1 to 64 and 1 to 180 characters, no spaces", async () => {
    const { key, trusted } = await setup();
    const emailOf = async (email: unknown) =>
      (await trusted.verify(await sign(key, base({ email })))).email;
    for (const email of ["a@b", `${"l".repeat(64)}@acme.example`, `a@${"d".repeat(180)}`, "a@@b"]) {
      expect(await emailOf(email)).toBe(email);
    }
    for (const email of [
      `${"l".repeat(65)}@acme.example`,
      `a@${"d".repeat(181)}`,
      "@acme.example",
      "alice@",
      "alice",
      " alice@acme.example",
      "alice@acme.example ",
      "al ice@acme.example",
      "alice@acmé.example",
      7,
      ["alice@acme.example"],
    ]) {
      expect(await emailOf(email)).toBeUndefined();
    }
  });

  it("groups must be an array of strings", async () => {
    const { key, trusted } = await setup();
    for (const groups of ["staff", { a: 1 }, ["staff", 1], [1, "staff"], [null]]) {
      expect(await failure(trusted.verify(await sign(key, base({ groups }))))).toMatchObject({
        code: "token_invalid",
        message: expect.stringContaining("groups"),
      });
    }
    await expect(trusted.verify(await sign(key, base({ groups: [] })))).resolves.toMatchObject({
      groups: [],
    });
  });
});

describe("ExternalIssuer.verify: the token", () => {
  it("refuses what is not a JWT, and a JWT without a string kid", async () => {
    const { key, trusted } = await setup();
    expect(await failure(trusted.verify("not a token"))).toEqual({
      code: "token_invalid",
      message: "Invalid enterprise token: not a JWT.",
    });
    const noKid = await new SignJWT(base())
      .setProtectedHeader({ alg: "ES256" })
      .sign(key.privateKey);
    expect(await failure(trusted.verify(noKid))).toMatchObject({
      code: "token_invalid",
      message: expect.stringContaining("no kid"),
    });
    const numericKid = await sign(key, base(), { kid: 7 });
    expect(await failure(trusted.verify(numericKid))).toMatchObject({
      code: "token_invalid",
      message: expect.stringContaining("no kid"),
    });
  });

  it("refuses a bad signature and claims nested deeper than 8", async () => {
    const { key, trusted } = await setup();
    const other = await newKey("k1");
    expect(await codeOf(trusted.verify(await sign(other, base())))).toBe("token_invalid");
    const nest = (depth: number): unknown => (depth === 0 ? 1 : { n: nest(depth - 1) });
    // The claims object is depth 1: 7 more levels of objects are allowed, 8 are not.
    await expect(trusted.verify(await sign(key, base({ deep: nest(7) })))).resolves.toMatchObject({
      subject: "alice",
    });
    expect(await codeOf(trusted.verify(await sign(key, base({ deep: nest(8) }))))).toBe(
      "token_invalid",
    );
  });

  it("the signature's algorithm is the key's own: an Ed25519 key's token under the alg name Ed25519 is refused", async () => {
    const { privateKey, publicKey } = await generateKeyPair("Ed25519", { extractable: false });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: "ed", alg: "EdDSA", use: "sig" };
    const key: Key = { kid: "ed", privateKey, publicJwk };
    const { trusted } = await setup({ jwks: { keys: [publicJwk] } });
    await expect(trusted.verify(await sign(key, base(), { alg: "EdDSA" }))).resolves.toMatchObject({
      subject: "alice",
    });
    expect(await codeOf(trusted.verify(await sign(key, base(), { alg: "Ed25519" })))).toBe(
      "token_invalid",
    );
  });

  it("checks iss exactly and aud as a string or among an array", async () => {
    const { key, trusted } = await setup();
    const verify = async (claims: Record<string, unknown>) =>
      trusted.verify(await sign(key, base(claims))).then(
        () => "ok",
        (error: unknown) => (isAgentGateError(error) ? error.message : "thrown"),
      );
    expect(await verify({ iss: `${ISSUER}/` })).toContain("iss");
    expect(await verify({ iss: undefined })).toContain("iss");
    expect(await verify({ aud: [CLIENT, "other"] })).toBe("ok");
    expect(await verify({ aud: ["other", CLIENT] })).toBe("ok");
    expect(await verify({ aud: ["other"] })).toContain("aud");
    expect(await verify({ aud: [] })).toContain("aud");
    expect(await verify({ aud: "other" })).toContain("aud");
    expect(await verify({ aud: `${CLIENT}x` })).toContain("aud");
    expect(await verify({ aud: undefined })).toContain("aud");
  });

  it("exp: token_expired once exp + 60 s is now or past, and without a numeric exp", async () => {
    const { key, trusted } = await setup();
    await expect(
      trusted.verify(await sign(key, base({ exp: SECONDS - 59 }))),
    ).resolves.toMatchObject({
      expiresAt: SECONDS - 59,
    });
    for (const exp of [SECONDS - 60, SECONDS - 1000, undefined, String(SECONDS + 300)]) {
      expect(await codeOf(trusted.verify(await sign(key, base({ exp }))))).toBe("token_expired");
    }
  });

  it("nbf and iat: refused only when more than the skew ahead, and only as numbers", async () => {
    const { key, trusted } = await setup();
    for (const claim of ["nbf", "iat"]) {
      await expect(
        trusted.verify(await sign(key, base({ [claim]: SECONDS + 60 }))),
      ).resolves.toMatchObject({ subject: "alice" });
      expect(
        await failure(trusted.verify(await sign(key, base({ [claim]: SECONDS + 61 })))),
      ).toMatchObject({
        code: "token_invalid",
        message: expect.stringContaining(claim),
      });
      // A numeric string is not a NumericDate: it is ignored, not compared.
      await expect(
        trusted.verify(await sign(key, base({ [claim]: String(SECONDS + 10_000) }))),
      ).resolves.toMatchObject({ subject: "alice" });
    }
  });

  it("clockSkewSeconds moves every time check", async () => {
    const { key, trusted } = await setup({ issuer: { clockSkewSeconds: 0 } });
    await expect(
      trusted.verify(await sign(key, base({ exp: SECONDS + 1 }))),
    ).resolves.toBeDefined();
    expect(await codeOf(trusted.verify(await sign(key, base({ exp: SECONDS }))))).toBe(
      "token_expired",
    );
    await expect(trusted.verify(await sign(key, base({ nbf: SECONDS })))).resolves.toBeDefined();
    expect(await codeOf(trusted.verify(await sign(key, base({ nbf: SECONDS + 1 }))))).toBe(
      "token_invalid",
    );
    expect(await codeOf(trusted.verify(await sign(key, base({ iat: SECONDS + 1 }))))).toBe(
      "token_invalid",
    );
  });
});

describe("ExternalIssuer.verify: the key cache", () => {
  const jwksFetches = (calls: Call[]) => calls.filter((call) => call.url === JWKS_URI).length;

  it("uses the fetched keys for 600 s by default, then fetches them again", async () => {
    const { key, calls, clock, trusted } = await setup();
    clock.set(NOW + 600_000);
    await trusted.verify(await sign(key, base({ exp: SECONDS + 10_000 })));
    expect(jwksFetches(calls)).toBe(1);
    clock.set(NOW + 600_001);
    await trusted.verify(await sign(key, base({ exp: SECONDS + 10_000 })));
    expect(jwksFetches(calls)).toBe(2);
    // Fetched at 600,001: fresh again until 1,200,001.
    clock.set(NOW + 1_200_001);
    await trusted.verify(await sign(key, base({ exp: SECONDS + 10_000 })));
    expect(jwksFetches(calls)).toBe(2);
  });

  it("cacheSeconds sets how long", async () => {
    const { key, calls, clock, trusted } = await setup({ issuer: { cacheSeconds: 5 } });
    clock.set(NOW + 5_000);
    await trusted.verify(await sign(key, base()));
    expect(jwksFetches(calls)).toBe(1);
    clock.set(NOW + 5_001);
    await trusted.verify(await sign(key, base()));
    expect(jwksFetches(calls)).toBe(2);
  });

  it("an unknown kid fetches again only after 30 s by default, and uses the new keys", async () => {
    const { documents, calls, clock, trusted } = await setup();
    const rotated = await newKey("k2");
    documents.set(JWKS_URI, JSON.stringify({ keys: [rotated.publicJwk] }));
    const token = await sign(rotated, base({ exp: SECONDS + 10_000 }));
    clock.set(NOW + 30_000);
    expect(await failure(trusted.verify(token))).toMatchObject({
      code: "token_invalid",
      message: expect.stringContaining('unknown key id "k2"'),
    });
    expect(jwksFetches(calls)).toBe(1);
    clock.set(NOW + 30_001);
    await expect(trusted.verify(token)).resolves.toMatchObject({ subject: "alice" });
    expect(jwksFetches(calls)).toBe(2);
    // The fetch time moved: another unknown kid right after does not fetch again.
    const third = await newKey("k3");
    clock.set(NOW + 30_002);
    expect(await codeOf(trusted.verify(await sign(third, base({ exp: SECONDS + 10_000 }))))).toBe(
      "token_invalid",
    );
    expect(jwksFetches(calls)).toBe(2);
  });

  it("minRefreshSeconds sets the shortest time between fetches; a known kid never fetches before it is stale", async () => {
    const { key, documents, calls, clock, trusted } = await setup({
      issuer: { minRefreshSeconds: 2 },
    });
    clock.set(NOW + 2_001);
    await trusted.verify(await sign(key, base()));
    expect(jwksFetches(calls)).toBe(1);
    const rotated = await newKey("k2");
    documents.set(JWKS_URI, JSON.stringify({ keys: [rotated.publicJwk] }));
    clock.set(NOW + 2_000);
    expect(await codeOf(trusted.verify(await sign(rotated, base())))).toBe("token_invalid");
    expect(jwksFetches(calls)).toBe(1);
    clock.set(NOW + 2_001);
    await expect(trusted.verify(await sign(rotated, base()))).resolves.toBeDefined();
    expect(jwksFetches(calls)).toBe(2);
    // The old key left the set with the fetch.
    expect(await codeOf(trusted.verify(await sign(key, base())))).toBe("token_invalid");
  });

  it("the unknown key id in the message is JSON, cut at 80 characters", async () => {
    const { key, trusted } = await setup({ issuer: { minRefreshSeconds: 1000 } });
    const long = "q".repeat(100);
    const { message } = await failure(trusted.verify(await sign(key, base(), { kid: long })));
    expect(message).toBe(`Invalid enterprise token: unknown key id "${"q".repeat(79)}.`);
  });
});
