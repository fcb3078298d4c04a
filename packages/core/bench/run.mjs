// `pnpm bench` for @agentgate/core: token verification against jose and the raw Ed25519 floor.
import { createPublicKey, verify as rawVerify } from "node:crypto";
import { jwtVerify } from "jose";
import { Authority, defineAgent, MemoryAgentRegistry } from "../dist/index.js";
import { compare, machine, table } from "./harness.mjs";

const AUDIENCE = "https://crm.acme.example";
const AGENT = "spiffe://acme.example/agent/support";
const registry = new MemoryAgentRegistry([
  defineAgent({ id: AGENT, owner: "alice", maxScopes: ["crm:read"] }),
]);
const authority = await Authority.create({ trustDomain: "acme.example", registry });
const { token } = await authority.issueToken(AGENT, { audience: AUDIENCE, ttlSeconds: 3600 });

const jwk = authority.jwks().keys[0];
const key = authority.getVerificationKey(jwk.kid).key;
const nodeKey = createPublicKey({ key: jwk, format: "jwk" });
const [h, p, s] = token.split(".");
const signingInput = Buffer.from(`${h}.${p}`);
const signature = Buffer.from(s, "base64url");
const cold = authority.verifier({ cacheSize: 0 });
const cached = authority.verifier();
await cached.verify(token, { audience: AUDIENCE });

const joseOptions = {
  algorithms: ["EdDSA"],
  issuer: authority.issuer,
  audience: AUDIENCE,
  typ: "agent+jwt",
  clockTolerance: 30,
  requiredClaims: ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"],
};

const results = await compare([
  {
    name: "raw node:crypto Ed25519 verify (floor)",
    run: () => rawVerify(null, signingInput, nodeKey, signature),
  },
  { name: "jose.jwtVerify", run: () => jwtVerify(token, key, joseOptions) },
  {
    name: "verifier.verify, cold (no cache)",
    run: () => cold.verify(token, { audience: AUDIENCE }),
  },
  {
    name: "verifier.verify, cache hit",
    run: () => cached.verify(token, { audience: AUDIENCE }),
    batch: 100,
  },
  { name: "authority.issueToken", run: () => authority.issueToken(AGENT, { audience: AUDIENCE }) },
]);

console.log(`\n## Identity: token verification\n\n${await machine()}\n`);
console.log(table(results, "jose.jwtVerify"));
const coldOverJose = results[2].p50 / results[1].p50;
console.log(
  `\nverifyToken cold vs jose.jwtVerify: ${((coldOverJose - 1) * 100).toFixed(1)}% added (goal ≤ 10%)`,
);
console.log(`cache hit p50: ${results[3].p50.toFixed(2)} µs (goal ≤ 2 µs)`);

// Memory per cached identity: 10,000 agents, each with a verified token in the verifier's cache.
{
  const count = 10_000;
  const many = new MemoryAgentRegistry(
    Array.from({ length: count }, (_, index) =>
      defineAgent({
        id: `spiffe://acme.example/agent/a${index}`,
        owner: "team@acme.example",
        maxScopes: ["crm:read"],
      }),
    ),
  );
  const issuer = await Authority.create({ trustDomain: "acme.example", registry: many });
  const tokens = [];
  for (let index = 0; index < count; index++) {
    tokens.push(
      (
        await issuer.issueToken(`spiffe://acme.example/agent/a${index}`, {
          audience: AUDIENCE,
          ttlSeconds: 3600,
        })
      ).token,
    );
  }
  const verifier = issuer.verifier({ cacheSize: count });
  await verifier.verify(tokens[0], { audience: AUDIENCE });
  globalThis.gc?.();
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  for (const token of tokens) await verifier.verify(token, { audience: AUDIENCE });
  globalThis.gc?.();
  globalThis.gc?.();
  const perIdentity = (process.memoryUsage().heapUsed - before) / count;
  // Keep the verifier (and its cache) reachable until after the measurement.
  if ((await verifier.verify(tokens[1], { audience: AUDIENCE })).tokenId === "") console.log("");
  console.log(
    `\nmemory per cached identity (${count.toLocaleString("en")} agents, tokens held by the caller): ${(perIdentity / 1024).toFixed(2)} KiB (goal ≤ 2 KiB)`,
  );
}
