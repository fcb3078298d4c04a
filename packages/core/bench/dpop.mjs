// `pnpm bench` for @agentgate/core: what a DPoP-bound call costs over a bearer call, on the
// server's side and the agent's: verifying the token (cache hit, as on every call after the
// first), plus making and checking one DPoP proof (RFC 9449, SECURITY.md M104-M106).
import {
  Authority,
  createDpopProof,
  defineAgent,
  generateDpopKey,
  MemoryAgentRegistry,
  MemoryReplayCache,
  verifyDpopProof,
} from "../dist/index.js";
import { compare, machine, table } from "./harness.mjs";

const AGENT = "spiffe://acme.example/agent/support";
const URL_ = "https://mcp.acme.example/mcp";
const registry = new MemoryAgentRegistry([defineAgent({ id: AGENT, owner: "alice@acme.example" })]);
const authority = await Authority.create({ trustDomain: "acme.example", registry });
const verifier = authority.verifier();
const key = await generateDpopKey();
const bearer = (await authority.issueToken(AGENT, { audience: URL_ })).token;
const bound = (
  await authority.issueToken(AGENT, { audience: URL_, confirmation: { jkt: key.jkt } })
).token;
const replay = new MemoryReplayCache({ maxEntries: 10_000_000 });

const results = await compare(
  [
    { name: "bearer: verify token", run: () => verifier.verify(bearer, { audience: URL_ }) },
    {
      name: "DPoP: verify token + sign proof + verify proof",
      run: async () => {
        const agent = await verifier.verify(bound, { audience: URL_ });
        const proof = await createDpopProof(key, { method: "POST", url: URL_, accessToken: bound });
        await verifyDpopProof(proof, {
          method: "POST",
          url: URL_,
          accessToken: bound,
          jkt: agent.confirmation.jkt,
          replay,
        });
      },
    },
  ],
  { rounds: 2000, warmup: 200 },
);

console.log(`\n## DPoP vs bearer\n\n${await machine()}\n`);
console.log(table(results, "bearer: verify token"));
console.log(
  `\nDPoP / bearer: ${(results[1].p50 / results[0].p50).toFixed(1)}× p50, ${(results[1].p99 / results[0].p99).toFixed(1)}× p99; DPoP adds ${(results[1].p50 - results[0].p50).toFixed(0)} µs p50 per call`,
);
