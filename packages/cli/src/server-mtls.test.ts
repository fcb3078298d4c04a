import { rmSync } from "node:fs";
import { request } from "node:https";
import { dirname } from "node:path";
import type { PeerCertificate } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { cli, initialised, SUPPORT } from "../test/workspace.js";
import { openCertificateAuthority } from "./cert-commands.js";
import { type RunningServer, startServer } from "./server.js";
import { openWorkspace } from "./workspace.js";

const SERVER_ID = "spiffe://acme.example/agent/gate-server";
const servers: RunningServer[] = [];
const folders: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function get(
  url: string,
  tls: { key?: string; cert?: string; ca: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, {
      ...tls,
      // The server is known by its SVID's URI SAN (SPIFFE), not a host name.
      checkServerIdentity: (_host: string, certificate: PeerCertificate) =>
        certificate.subjectaltname === `URI:${SERVER_ID}` ? undefined : new Error("wrong server"),
    });
    outgoing.on("response", (response) => {
      let body = "";
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("agentgate serve over mutual TLS", () => {
  it("M103: with a client CA, a caller without a certificate from the trust domain is refused at the handshake; an agent's SVID gets in; the bundle is published", async () => {
    const dir = await initialised();
    folders.push(dirname(dir));
    await cli(dir, "agent", "add", SERVER_ID, "--owner", "ops@acme.example");
    const workspace = await openWorkspace(dir);
    const ca = await openCertificateAuthority(workspace);
    const serverSvid = await ca.issue(SERVER_ID);
    const agentSvid = await ca.issue(SUPPORT);
    const bundle = ca.bundle().toPem();
    const server = await startServer({
      workspace,
      port: 0,
      tls: { key: serverSvid.privateKeyPem ?? "", cert: serverSvid.chainPem, clientCa: bundle },
    });
    servers.push(server);
    expect(server.url.startsWith("https://")).toBe(true);

    const agent = { key: agentSvid.privateKeyPem ?? "", cert: agentSvid.chainPem, ca: bundle };
    const jwks = await get(`${server.url}/.well-known/spiffe-bundle`, agent);
    expect(jwks.status).toBe(200);
    expect((JSON.parse(jwks.body) as { keys: Array<{ use: string }> }).keys[0]?.use).toBe(
      "x509-svid",
    );
    expect((await get(`${server.url}/x509/bundle.pem`, agent)).body.trim()).toBe(bundle.trim());

    await expect(get(`${server.url}/healthz`, { ca: bundle })).rejects.toThrow();
    const foreign = await (await import("@agentgate/core/x509")).CertificateAuthority.open({
      trustDomain: "acme.example",
    });
    const impostor = await foreign.issue(SUPPORT);
    await expect(
      get(`${server.url}/healthz`, {
        key: impostor.privateKeyPem ?? "",
        cert: impostor.chainPem,
        ca: bundle,
      }),
    ).rejects.toThrow();
  });
});
