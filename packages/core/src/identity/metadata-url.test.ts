import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, makeIdentity, SUPPORT } from "../../test/fixtures/identity.js";
import { JwksKeySet } from "./key-set.js";
import { checkMetadataUrl } from "./metadata-url.js";
import { TokenVerifier } from "./token-verifier.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

/** A real HTTP server on 127.0.0.1 that counts the requests it gets. */
async function serve(body: (path: string) => { status: number; text: string; location?: string }) {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(request.url ?? "");
    const answer = body(request.url ?? "");
    response.writeHead(answer.status, {
      "content-type": "application/json",
      ...(answer.location === undefined ? {} : { location: answer.location }),
    });
    response.end(answer.text);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const REFUSED = [
  "http://issuer.acme.example/jwks.json",
  "ftp://issuer.acme.example/jwks.json",
  "file:///etc/passwd",
  "https://user:pw@issuer.acme.example/jwks.json",
  "https://localhost/jwks.json",
  "https://api.localhost/jwks.json",
  "https://printer.local/",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://intranet/",
  "https://127.0.0.1/",
  "https://127.1.2.3/",
  "https://2130706433/",
  "https://0x7f000001/",
  "https://0177.0.0.1/",
  "https://0.0.0.0/",
  "https://10.1.2.3/",
  "https://100.64.0.1/",
  "https://169.254.169.254/latest/meta-data/",
  "https://172.16.0.1/",
  "https://172.31.255.255/",
  "https://192.168.1.1/",
  "https://192.0.0.1/",
  "https://198.18.0.1/",
  "https://224.0.0.1/",
  "https://255.255.255.255/",
  "https://[::1]/",
  "https://[::]/",
  "https://[::ffff:127.0.0.1]/",
  "https://[::ffff:a9fe:a9fe]/",
  "https://[fd00::1]/",
  "https://[fc00::1]/",
  "https://[fe80::1]/",
  "https://[ff02::1]/",
  "https://[64:ff9b::a9fe:a9fe]/",
  "not a url",
];

describe("checkMetadataUrl (I67)", () => {
  it("I67: loopback, private, link-local and reserved addresses, local names and non-https schemes are refused", () => {
    for (const url of REFUSED) {
      expect(() => checkMetadataUrl(url), url).toThrowError(
        expect.objectContaining({
          code: "invalid_configuration",
          details: { check: "metadata_url" },
        }),
      );
    }
  });

  it("I67: public https URLs pass, as parsed URLs", () => {
    for (const url of [
      "https://issuer.acme.example/.well-known/jwks.json",
      "https://8.8.8.8/",
      "https://172.32.0.1/",
      "https://100.128.0.1/",
      "https://192.169.0.1/",
      "https://[2001:db8::1]/",
      "https://issuer.acme.example./jwks",
    ]) {
      expect(checkMetadataUrl(url).href, url).toBe(new URL(url).href);
    }
  });

  it("I67: the loud option admits http and loopback, for local development only", () => {
    expect(
      checkMetadataUrl("http://127.0.0.1:8080/jwks", { allowInsecureMetadataUrls: true }).port,
    ).toBe("8080");
    expect(() =>
      checkMetadataUrl("file:///etc/passwd", { allowInsecureMetadataUrls: true }),
    ).toThrowError(expect.objectContaining({ code: "invalid_configuration" }));
  });
});

describe("JwksKeySet.fromUrl (I67)", () => {
  it("I67: a JWKS URL on loopback is never fetched; with the loud option it is, and its keys verify", async () => {
    const { authority, clock } = await makeIdentity();
    const { base, seen } = await serve(() => ({
      status: 200,
      text: JSON.stringify(authority.jwks()),
    }));
    await expect(JwksKeySet.fromUrl(`${base}/jwks.json`)).rejects.toMatchObject({
      code: "invalid_configuration",
    });
    await expect(
      JwksKeySet.fromUrl(`${base.replace("http:", "https:")}/jwks.json`),
    ).rejects.toMatchObject({ code: "invalid_configuration" });
    expect(seen).toEqual([]);

    const keys = await JwksKeySet.fromUrl(`${base}/jwks.json`, { allowInsecureMetadataUrls: true });
    expect(seen).toEqual(["/jwks.json"]);
    const verifier = new TokenVerifier({
      issuer: authority.issuer,
      trustDomain: authority.trustDomain,
      keys,
      clock,
    });
    const { token } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await expect(verifier.verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("I67: redirects are not followed (a redirect could lead inside); errors, oversized or duplicate-member documents are key_store_invalid", async () => {
    const { authority } = await makeIdentity();
    const jwks = JSON.stringify(authority.jwks());
    const { base, seen } = await serve((path) =>
      path === "/moved"
        ? { status: 302, text: "", location: "/jwks.json" }
        : path === "/big"
          ? { status: 200, text: `{"keys":[],"pad":"${"x".repeat(70_000)}"}` }
          : path === "/dup"
            ? { status: 200, text: '{"keys":[],"keys":[]}' }
            : path === "/jwks.json"
              ? { status: 200, text: jwks }
              : { status: 500, text: "{}" },
    );
    const insecure = { allowInsecureMetadataUrls: true };
    for (const path of ["/moved", "/big", "/dup", "/error"]) {
      await expect(JwksKeySet.fromUrl(`${base}${path}`, insecure), path).rejects.toMatchObject({
        code: "key_store_invalid",
      });
    }
    expect(seen).not.toContain("/jwks.json");
  });
});
