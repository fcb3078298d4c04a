import { afterEach, describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { AUDIENCE, ISSUER, makeIdentity, SUPPORT } from "../../test/fixtures/identity.js";
import { IDP_CLIENT, startIdp } from "../../test/fixtures/oidc-idp.js";
import { TestClock } from "../testing/index.js";
import { ExternalIssuer } from "./external-issuer.js";

const idps: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(idps.splice(0).map((idp) => idp.close()));
});

async function enterprise() {
  const idp = await startIdp();
  idps.push(idp);
  // The loud test option: the stand-in IdP is plain http on loopback.
  const trusted = await ExternalIssuer.discover(
    { issuer: idp.issuer, audience: IDP_CLIENT },
    { allowInsecureMetadataUrls: true, minRefreshSeconds: 0 },
  );
  return { idp, trusted };
}

describe("users of an enterprise IdP as principals (oidc-provider standing in for Okta or Entra ID)", () => {
  it("verifies a real ID token: the user, its email and its groups", async () => {
    const { idp, trusted } = await enterprise();
    const user = await trusted.verify(await idp.login("alice"));
    expect(user).toMatchObject({
      id: "user:alice@acme.example",
      subject: "alice",
      groups: ["support-eu", "staff"],
      issuer: idp.issuer,
    });
  });

  it("I67: without the loud test option, an http or loopback IdP is refused before any fetch", async () => {
    const { idp } = await enterprise();
    await expect(
      ExternalIssuer.discover({ issuer: idp.issuer, audience: IDP_CLIENT }),
    ).rejects.toMatchObject({ code: "invalid_configuration", details: { check: "metadata_url" } });
    await expect(
      ExternalIssuer.discover({ issuer: "https://127.0.0.1:1", audience: IDP_CLIENT }),
    ).rejects.toMatchObject({ code: "invalid_configuration" });
  });

  it("K89: the exchange gives a short-lived agent token whose sub is the enterprise user and act.sub the agent, with the user's groups", async () => {
    const { idp, trusted } = await enterprise();
    const { authority, clock } = await makeIdentity();
    // The IdP's tokens carry real time; the test authority's clock follows it.
    clock.set(Date.now());
    const actor = await authority.issueToken(SUPPORT, { audience: ISSUER, scope: ["crm:read"] });
    const idToken = await idp.login("alice");
    const issued = await authority.exchange(idToken, actor.token, {
      audience: AUDIENCE,
      externalIssuers: [trusted],
    });
    const verified = await authority.verifier().verify(issued.token, { audience: AUDIENCE });
    expect(verified.principal).toMatchObject({ id: "user:alice@acme.example", kind: "user" });
    expect(verified.chain).toEqual(["user:alice@acme.example", SUPPORT]);
    expect(verified.scopes).toEqual(["crm:read"]);
    const claims = JSON.parse(
      Buffer.from(issued.token.split(".")[1] ?? "", "base64url").toString(),
    );
    expect(claims.groups).toEqual(["support-eu", "staff"]);
    expect(claims.idp).toBe(idp.issuer);
    expect(issued.expiresAt - issued.issuedAt).toBeLessThanOrEqual(300);
    // Scopes only narrow; an actor the decision refuses gets nothing.
    await expectCode(
      authority.exchange(idToken, actor.token, {
        audience: AUDIENCE,
        scope: ["crm:write"],
        externalIssuers: [trusted],
      }),
      "delegation_invalid",
    );
    await expectCode(
      authority.exchange(idToken, actor.token, {
        audience: AUDIENCE,
        externalIssuers: [trusted],
        mayActForUser: ({ user }) => user.groups.includes("sales"),
      }),
      "delegation_invalid",
    );
  });

  it("K89: a token of the IdP for another audience, or of an untrusted issuer, is not exchanged", async () => {
    const { idp } = await enterprise();
    const other = await ExternalIssuer.discover(
      { issuer: idp.issuer, audience: "another-app" },
      { allowInsecureMetadataUrls: true },
    );
    const { authority, clock } = await makeIdentity();
    clock.set(Date.now());
    const actor = await authority.issueToken(SUPPORT, { audience: ISSUER });
    const idToken = await idp.login("bob");
    await expectCode(
      authority.exchange(idToken, actor.token, { audience: AUDIENCE, externalIssuers: [other] }),
      "token_invalid",
    );
    // Without the IdP among the trusted issuers the token is just a foreign token.
    await expectCode(
      authority.exchange(idToken, actor.token, { audience: AUDIENCE }),
      "delegation_invalid",
    );
  });

  it("a user disabled at the IdP gets no new token; one already issued works until its exp, then never", async () => {
    const idp = await startIdp();
    idps.push(idp);
    const clock = new TestClock(Date.now());
    const trusted = await ExternalIssuer.discover(
      { issuer: idp.issuer, audience: IDP_CLIENT },
      { allowInsecureMetadataUrls: true, minRefreshSeconds: 0, clock },
    );
    const before = await idp.login("alice");
    idp.disable("alice");
    // Not instant: the IdP refuses a new sign-in at once...
    await expect(idp.login("alice")).rejects.toThrow();
    // ...but a token it issued before stays valid until it expires (the README says so).
    const user = await trusted.verify(before);
    expect(user.id).toBe("user:alice@acme.example");
    clock.set((user.expiresAt + 61) * 1000);
    await expectCode(trusted.verify(before), "token_expired");
  });

  it("follows the IdP's key rotation: a token signed by a new key fetches the JWKS again", async () => {
    const { idp, trusted } = await enterprise();
    await trusted.verify(await idp.login("alice"));
    await idp.rotate();
    await expect(trusted.verify(await idp.login("alice"))).resolves.toMatchObject({
      subject: "alice",
    });
  });
});
