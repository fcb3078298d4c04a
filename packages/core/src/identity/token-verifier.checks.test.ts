import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import {
  AUDIENCE,
  claims,
  header,
  ISSUER,
  makeIdentity,
  OPS,
  SUPPORT,
  signRaw,
  TRUST_DOMAIN,
} from "../../test/fixtures/identity.js";
import { AgentGateError } from "../errors.js";
import { JwksKeySet } from "./key-set.js";
import { TokenVerifier } from "./token-verifier.js";

// The checks of token-verifier.ts that mutation testing found unguarded (issue 17): each test
// here fails when its check is deleted.
describe("TokenVerifier: checks that only these tests guard", () => {
  it("D35: a revoked key stops verifying even when the key set itself does not know of revocations", async () => {
    const { authority, clock, revocations, stored } = await makeIdentity();
    // A JWKS-backed key set (a process without the authority's keys) still lists the key: only
    // the verifier's own revocation check can stop it.
    const keys = await JwksKeySet.fromJwks(authority.jwks());
    const verifier = new TokenVerifier({
      issuer: ISSUER,
      trustDomain: TRUST_DOMAIN,
      keys,
      revocations,
      clock,
    });
    const token = signRaw(header(stored.kid), claims(clock.now()), stored);
    await expect(verifier.verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
    await revocations.revoke("key", stored.kid, "compromised");
    // The first verification is cached: the revocation holds on the cache hit too.
    await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
  });

  it("B22: an actor from another trust domain in act is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    const foreign = signRaw(
      header(stored.kid),
      claims(clock.now(), {
        sub: "user:alice@acme.example",
        act: { sub: "spiffe://evil.example/agent/support" },
      }),
      stored,
    );
    await expectCode(verifier.verify(foreign, { audience: AUDIENCE }), "token_invalid");
    const nested = signRaw(
      header(stored.kid),
      claims(clock.now(), {
        sub: SUPPORT,
        act: { sub: OPS, act: { sub: "spiffe://evil.example/agent/ops" } },
      }),
      stored,
    );
    await expectCode(verifier.verify(nested, { audience: AUDIENCE }), "token_invalid");
    // The same shapes with actors of this trust domain pass (the fixture is sound).
    const own = signRaw(
      header(stored.kid),
      claims(clock.now(), { sub: "user:alice@acme.example", act: { sub: SUPPORT } }),
      stored,
    );
    await expect(verifier.verify(own, { audience: AUDIENCE })).resolves.toMatchObject({
      principal: { id: "user:alice@acme.example", kind: "user" },
    });
  });

  it("A13: a delegated sub must be a user principal: a foreign SPIFFE id or a malformed sub is refused", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    for (const sub of [
      "spiffe://evil.example/agent/support",
      "spiffe:opaque",
      "user alice",
      "x".repeat(300),
    ]) {
      const token = signRaw(
        header(stored.kid),
        claims(clock.now(), { sub, act: { sub: SUPPORT } }),
        stored,
      );
      await expectCode(verifier.verify(token, { audience: AUDIENCE }), "token_invalid");
    }
  });

  it("A13: a missing or non-string scope is token_invalid (an AgentGateError), never a TypeError", async () => {
    const { clock, stored, verifier } = await makeIdentity();
    for (const scope of [undefined, 7, ["crm:read"], null]) {
      const token = signRaw(header(stored.kid), claims(clock.now(), { scope }), stored);
      const error = await verifier.verify(token, { audience: AUDIENCE }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentGateError);
      expect((error as AgentGateError).code).toBe("token_invalid");
    }
  });
});
