// `pnpm bench` for @agentgate/core: token verification per signing algorithm (cold: a verifier
// without cache; cached: a warm verified-token cache) and RFC 8693 exchange latency, each as a
// ratio to jose.jwtVerify of the same token in the same run (issue 17).
import { createLocalJWKSet, jwtVerify } from "jose";
import { Authority, defineAgent, MemoryAgentRegistry } from "../dist/index.js";
import { compare, machine, table } from "./harness.mjs";

const AUDIENCE = "https://crm.acme.example";
const SUPPORT = "spiffe://acme.example/agent/support";
const OPS = "spiffe://acme.example/agent/ops";

console.log(`\n## Verification per algorithm and token exchange\n\n${await machine()}\n`);
for (const algorithm of ["EdDSA", "ES256", "RS256"]) {
  const registry = new MemoryAgentRegistry([
    defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
    defineAgent({ id: OPS, owner: "ops@acme.example", maxScopes: ["crm:read"] }),
  ]);
  const authority = await Authority.create({ trustDomain: "acme.example", registry, algorithm });
  const issued = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
  const jwks = createLocalJWKSet(authority.jwks());
  const cold = authority.verifier({ cacheSize: 0 });
  const cached = authority.verifier();
  const subject = await authority.issueToken(OPS, {
    audience: authority.issuer,
    mayAct: [SUPPORT],
  });
  const actor = await authority.issueToken(SUPPORT, { audience: authority.issuer });
  const baseline = `jose.jwtVerify (${algorithm})`;
  const results = await compare(
    [
      { name: baseline, run: () => jwtVerify(issued.token, jwks, { audience: AUDIENCE }) },
      {
        name: `verify cold (${algorithm})`,
        run: () => cold.verify(issued.token, { audience: AUDIENCE }),
      },
      {
        name: `verify cached (${algorithm})`,
        run: () => cached.verify(issued.token, { audience: AUDIENCE }),
        batch: 20,
      },
      {
        name: `exchange (${algorithm})`,
        run: () => authority.exchange(subject.token, actor.token, { audience: AUDIENCE }),
      },
    ],
    { rounds: algorithm === "RS256" ? 300 : 600, warmup: 50 },
  );
  console.log(`${table(results, baseline)}\n`);
}
