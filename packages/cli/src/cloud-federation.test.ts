import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import * as client from "openid-client";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../test/temp-dir.js";
import { fetchTrusting, freePort, selfSignedCertificate } from "../test/tls.js";
import { cli } from "../test/workspace.js";
import { type RunningServer, startServer } from "./server.js";
import { openWorkspace } from "./workspace.js";

const SUPPORT = "spiffe://acme.example/agent/support";
const GCP_PROVIDER =
  "projects/123456789012/locations/global/workloadIdentityPools/agents/providers/agentgate";
const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** `agentgate init --algorithm <alg> --public-url https://127.0.0.1:<port>`, then `agentgate serve` there over TLS. */
async function cloudReady(algorithm: string) {
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  const dir = join(tempDir("agentgate-cloud-"), ".agentgate");
  const init = await cli(
    dir,
    "init",
    "--trust-domain",
    "acme.example",
    "--audience",
    "https://tools.acme.example",
    "--algorithm",
    algorithm,
    "--public-url",
    publicUrl,
  );
  expect(init.code, init.err).toBe(0);
  expect((await cli(dir, "agent", "add", SUPPORT, "--owner", "alice@acme.example")).code).toBe(0);
  const { cert, key } = selfSignedCertificate();
  const workspace = await openWorkspace(dir);
  const server = await startServer({
    workspace,
    host: "127.0.0.1",
    port,
    publicUrl,
    tls: { cert, key },
  });
  servers.push(server);
  const trusted = fetchTrusting(cert);
  return { dir, publicUrl, trusted, workspace };
}

/** What a cloud's STS does with a web identity token: discover the issuer, fetch its JWKS, verify. */
async function asCloud(issuer: string, trusted: typeof fetch, token: string, audience: string) {
  const config = await client.discovery(new URL(issuer), "cloud-sts", undefined, client.None(), {
    [client.customFetch]: trusted,
  });
  const metadata = config.serverMetadata();
  const jwks = (await (await trusted(metadata.jwks_uri as string)).json()) as JSONWebKeySet;
  const verified = await jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience });
  return { metadata, jwks, ...verified };
}

describe("clouds trust AgentGate tokens", () => {
  it("openid-client discovers `agentgate serve` over https: OpenID Connect Discovery 1.0's required members, the issuer its URL, the algorithms those of the keys", async () => {
    const { publicUrl, trusted, workspace } = await cloudReady("RS256");
    const config = await client.discovery(new URL(publicUrl), "rp", undefined, client.None(), {
      [client.customFetch]: trusted,
    });
    const metadata = config.serverMetadata();
    // openid-client itself refuses a document whose issuer is not the URL it was found at.
    expect(metadata.issuer).toBe(publicUrl);
    expect(metadata.jwks_uri).toBe(`${publicUrl}/.well-known/jwks.json`);
    expect(metadata.authorization_endpoint).toBe(`${publicUrl}/authorize`);
    expect(metadata.response_types_supported).toEqual(["id_token"]);
    expect(metadata.subject_types_supported).toEqual(["public"]);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(["RS256"]);
    // After a rotation to ES256 both published keys' algorithms are listed, and only those.
    await workspace.authority.rotateKey({ algorithm: "ES256" });
    const rotated = (await (
      await trusted(`${publicUrl}/.well-known/openid-configuration`)
    ).json()) as { id_token_signing_alg_values_supported: string[] };
    expect(new Set(rotated.id_token_signing_alg_values_supported)).toEqual(
      new Set(["ES256", "RS256"]),
    );
    const jwks = (await (
      await trusted(`${publicUrl}/.well-known/jwks.json`)
    ).json()) as JSONWebKeySet;
    expect(new Set(jwks.keys.map((key) => key.alg))).toEqual(new Set(["ES256", "RS256"]));
    // The authorization endpoint exists and refuses: no browser flow is offered.
    expect((await trusted(`${publicUrl}/authorize`)).status).toBe(400);
  });

  it("AWS: aud sts.amazonaws.com, RS256 or ES256 with an RSA or EC key, an https iss that is the OIDC provider URL, sub the agent", async () => {
    for (const algorithm of ["RS256", "ES256"]) {
      const { dir, publicUrl, trusted } = await cloudReady(algorithm);
      const issued = await cli(dir, "token", "issue", SUPPORT, "--for", "aws");
      expect(issued.code, issued.err).toBe(0);
      const { payload, protectedHeader, jwks } = await asCloud(
        publicUrl,
        trusted,
        issued.out,
        "sts.amazonaws.com",
      );
      expect(protectedHeader.alg).toBe(algorithm);
      expect(typeof protectedHeader.kid).toBe("string");
      expect(jwks.keys[0]?.kty).toBe(algorithm === "RS256" ? "RSA" : "EC");
      expect(payload.iss).toBe(publicUrl);
      expect(payload.sub).toBe(SUPPORT);
      expect(payload.aud).toBe("sts.amazonaws.com");
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
      await Promise.all(servers.splice(0).map((server) => server.close()));
    }
  });

  it("GCP: aud the provider's full resource name, an RSA or EC key, sub within google.subject's 127 bytes", async () => {
    const { dir, publicUrl, trusted } = await cloudReady("ES256");
    const issued = await cli(
      dir,
      "token",
      "issue",
      SUPPORT,
      "--for",
      "gcp",
      "--gcp-provider",
      GCP_PROVIDER,
    );
    expect(issued.code, issued.err).toBe(0);
    const { payload, jwks } = await asCloud(
      publicUrl,
      trusted,
      issued.out,
      `//iam.googleapis.com/${GCP_PROVIDER}`,
    );
    expect(jwks.keys[0]?.kty).toBe("EC");
    expect(payload.sub).toBe(SUPPORT);
    expect(Buffer.byteLength(payload.sub ?? "")).toBeLessThanOrEqual(127);
    // Without a valid provider name there is no audience to address.
    for (const args of [[], ["--gcp-provider", "projects/x/providers/y"]]) {
      const refused = await cli(dir, "token", "issue", SUPPORT, "--for", "gcp", ...args);
      expect(refused.code).toBe(3);
    }
  });

  it("Azure: aud api://AzureADTokenExchange, RS256 only, an https iss, sub the agent (the federated credential's subject)", async () => {
    const { dir, publicUrl, trusted } = await cloudReady("RS256");
    const issued = await cli(dir, "token", "issue", SUPPORT, "--for", "azure", "--ttl", "600");
    expect(issued.code, issued.err).toBe(0);
    const { payload, protectedHeader, jwks } = await asCloud(
      publicUrl,
      trusted,
      issued.out,
      "api://AzureADTokenExchange",
    );
    expect(protectedHeader.alg).toBe("RS256");
    expect(jwks.keys[0]).toMatchObject({ kty: "RSA", e: "AQAB" });
    expect(payload).toMatchObject({ iss: publicUrl, sub: SUPPORT });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
    // An ES256 signing key is refused for Entra, before anything is signed.
    expect((await cli(dir, "keys", "rotate", "--algorithm", "ES256")).code).toBe(0);
    const refused = await cli(dir, "token", "issue", SUPPORT, "--for", "azure");
    expect(refused.code).toBe(3);
    expect(refused.err).toMatch(/azure does not accept ES256.*--algorithm RS256/);
  });

  it("refuses what every cloud would reject: an EdDSA key, a spiffe: issuer, an http public URL, --audience or --principal with --for", async () => {
    const plain = join(tempDir("agentgate-cloud-"), ".agentgate");
    await cli(plain, "init", "--trust-domain", "acme.example", "--audience", "https://t.example");
    await cli(plain, "agent", "add", SUPPORT, "--owner", "alice@acme.example");
    const edDsa = await cli(plain, "token", "issue", SUPPORT, "--for", "aws");
    expect(edDsa.code).toBe(3);
    expect(edDsa.err).toMatch(/https issuer/);
    expect((await cli(plain, "keys", "rotate", "--algorithm", "RS256")).code).toBe(0);
    expect((await cli(plain, "token", "issue", SUPPORT, "--for", "aws")).err).toMatch(
      /https issuer, not spiffe:\/\/acme\.example/,
    );
    const http = join(tempDir("agentgate-cloud-"), ".agentgate");
    await cli(
      http,
      "init",
      "--trust-domain",
      "acme.example",
      "--audience",
      "https://t.example",
      "--algorithm",
      "RS256",
      "--public-url",
      "http://127.0.0.1:1",
    );
    expect(JSON.parse(readFileSync(join(http, "config.json"), "utf8")).issuer).toBeUndefined();
    await cli(http, "agent", "add", SUPPORT, "--owner", "alice@acme.example");
    expect((await cli(http, "token", "issue", SUPPORT, "--for", "azure")).code).toBe(3);
    const { dir } = await cloudReady("EdDSA");
    const ed = await cli(dir, "token", "issue", SUPPORT, "--for", "aws");
    expect(ed.code).toBe(3);
    expect(ed.err).toMatch(/aws does not accept EdDSA/);
    for (const extra of [
      ["--audience", "https://x.example"],
      ["--principal", "user:alice"],
    ]) {
      expect((await cli(dir, "token", "issue", SUPPORT, "--for", "aws", ...extra)).code).toBe(2);
    }
    expect(
      (
        await cli(
          dir,
          "init",
          "--trust-domain",
          "b.example",
          "--audience",
          "https://t.example",
          "--public-url",
          "https://x.example/",
        )
      ).code,
    ).toBe(2);
    expect((await cli(dir, "keys", "rotate", "--algorithm", "HS256")).code).toBe(2);
  });

  it("`serve --public-url https://…` on a directory without an issuer serves that URL as the issuer; a different configured issuer is refused", async () => {
    const dir = join(tempDir("agentgate-cloud-"), ".agentgate");
    await cli(dir, "init", "--trust-domain", "acme.example", "--audience", "https://t.example");
    const workspace = await openWorkspace(dir, { issuer: "https://agents.acme.example" });
    expect(workspace.authority.issuer).toBe("https://agents.acme.example");
    const { dir: configured } = await cloudReady("RS256");
    await expect(
      openWorkspace(configured, { issuer: "https://elsewhere.example" }),
    ).rejects.toMatchObject({ code: "invalid_configuration" });
  });
});
