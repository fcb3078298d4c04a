// `node bench/mtls.mjs` for @agentgate/mcp: what mutual TLS costs on 127.0.0.1. A new TLS
// connection vs a new mTLS connection (the handshake with a client certificate), and one request
// on a kept-alive mTLS connection vs one on a kept-alive TLS connection with a bearer header.
// Then the identity check on top, end to end: `authenticateRequest` for a bearer token over TLS
// vs a certificate-bound token (RFC 8705) over mTLS, whose thumbprint is compared with the
// client certificate's (SECURITY.md M108).
import { Agent, createServer, request } from "node:https";
import {
  Authority,
  certificateThumbprint,
  defineAgent,
  MemoryAgentRegistry,
} from "@agentgate/core";
import { CertificateAuthority } from "@agentgate/core/x509";
import { compare, machine, record, table } from "../../core/bench/harness.mjs";
import { authenticateRequest } from "../dist/index.js";

const ca = await CertificateAuthority.open({ trustDomain: "acme.example" });
const server = await ca.issue("spiffe://acme.example/agent/bench-server");
const agent = await ca.issue("spiffe://acme.example/agent/bench-agent");
const bundle = ca.bundle().toPem();
const SERVER_ID = "URI:spiffe://acme.example/agent/bench-server";
const checkServerIdentity = (_host, cert) =>
  cert.subjectaltname === SERVER_ID ? undefined : new Error("wrong server");

const listen = (options) =>
  new Promise((resolve) => {
    const s = createServer(options, (_req, res) => res.end("ok"));
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
const tls = await listen({ key: server.privateKeyPem, cert: server.chainPem });
const mtls = await listen({
  key: server.privateKeyPem,
  cert: server.chainPem,
  ca: bundle,
  requestCert: true,
  rejectUnauthorized: true,
});
// The same two servers again, answering only after authenticateRequest verified the token.
const AUDIENCE = "https://127.0.0.1/mcp";
const AGENT = "spiffe://acme.example/agent/bench-agent";
const authority = await Authority.create({
  trustDomain: "acme.example",
  registry: new MemoryAgentRegistry([defineAgent({ id: AGENT, owner: "bench" })]),
});
const verifier = authority.verifier();
const bearer = (await authority.issueToken(AGENT, { audience: AUDIENCE })).token;
const certBound = (
  await authority.issueToken(AGENT, {
    audience: AUDIENCE,
    confirmation: { "x5t#S256": await certificateThumbprint(agent.chainPem) },
  })
).token;
const listenAuth = (options) =>
  new Promise((resolve) => {
    const s = createServer(options, async (req, res) => {
      const auth = await authenticateRequest(req, res, { verifier, audience: AUDIENCE });
      if (auth !== undefined) res.end("ok");
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
const tlsAuth = await listenAuth({ key: server.privateKeyPem, cert: server.chainPem });
const mtlsAuth = await listenAuth({
  key: server.privateKeyPem,
  cert: server.chainPem,
  ca: bundle,
  requestCert: true,
  rejectUnauthorized: true,
});
const url = (s) => `https://127.0.0.1:${s.address().port}/`;
const get = (target, options) =>
  new Promise((resolve, reject) => {
    const r = request(target, { ...options, checkServerIdentity }, (res) => {
      res.resume();
      res.on("end", resolve);
    });
    r.on("error", reject);
    r.end();
  });
const client = { key: agent.privateKeyPem, cert: agent.chainPem };
const keptTls = new Agent({ ca: bundle, keepAlive: true, maxSockets: 1 });
const keptMtls = new Agent({ ca: bundle, ...client, keepAlive: true, maxSockets: 1 });
const results = await compare(
  [
    { name: "new TLS connection", run: () => get(url(tls), { ca: bundle, agent: false }) },
    {
      name: "new mTLS connection",
      run: () => get(url(mtls), { ca: bundle, ...client, agent: false }),
    },
    {
      name: "kept-alive TLS + bearer header",
      run: () =>
        get(url(tls), { agent: keptTls, headers: { authorization: "Bearer x".repeat(60) } }),
    },
    { name: "kept-alive mTLS", run: () => get(url(mtls), { agent: keptMtls }) },
  ],
  { rounds: 300, warmup: 30 },
);
console.log(`\n## mTLS vs TLS\n\n${await machine()}\n`);
console.log(table(results, "new TLS connection"));
await record("mtls", results, "new TLS connection");

const keptTlsAuth = new Agent({ ca: bundle, keepAlive: true, maxSockets: 1 });
const keptMtlsAuth = new Agent({ ca: bundle, ...client, keepAlive: true, maxSockets: 1 });
const bound = await compare(
  [
    {
      name: "kept-alive TLS, bearer token verified",
      run: () =>
        get(url(tlsAuth), { agent: keptTlsAuth, headers: { authorization: `Bearer ${bearer}` } }),
    },
    {
      name: "kept-alive mTLS, cert-bound token verified",
      run: () =>
        get(url(mtlsAuth), {
          agent: keptMtlsAuth,
          headers: { authorization: `Bearer ${certBound}` },
        }),
    },
  ],
  { rounds: 1000, warmup: 100 },
);
console.log(`\n## Certificate-bound token vs bearer (authenticateRequest)\n`);
console.log(table(bound, "kept-alive TLS, bearer token verified"));
await record("cert-bound", bound, "kept-alive TLS, bearer token verified");
for (const closeable of [keptTls, keptMtls, keptTlsAuth, keptMtlsAuth]) closeable.destroy();
for (const listening of [tls, mtls, tlsAuth, mtlsAuth]) listening.close();
