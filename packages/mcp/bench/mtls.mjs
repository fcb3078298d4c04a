// `node bench/mtls.mjs` for @agentgate/mcp: what mutual TLS costs on 127.0.0.1. A new TLS
// connection vs a new mTLS connection (the handshake with a client certificate), and one request
// on a kept-alive mTLS connection vs one on a kept-alive TLS connection with a bearer header.
import { Agent, createServer, request } from "node:https";
import { CertificateAuthority } from "@agentgate/core/x509";
import { compare, machine, table } from "../../core/bench/harness.mjs";

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
keptTls.destroy();
keptMtls.destroy();
tls.close();
mtls.close();
