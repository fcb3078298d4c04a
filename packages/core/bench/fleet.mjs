// `pnpm bench` for @agentgate/core, identities at fleet scale: the verified-token cache hit path
// with 10 active agents and with 100,000 (each with its own token, called in random order), and
// the memory each cached identity costs at 100,000.
import { Authority, defineAgent, MemoryAgentRegistry } from "../dist/index.js";
import { compare, machine, record, table } from "./harness.mjs";

const AUDIENCE = "https://crm.acme.example";
const COUNT = 100_000;
const id = (index) => `spiffe://acme.example/agent/a${index}`;
const registry = new MemoryAgentRegistry(
  Array.from({ length: COUNT }, (_, index) =>
    defineAgent({ id: id(index), owner: "team@acme.example", maxScopes: ["crm:read"] }),
  ),
);
const authority = await Authority.create({ trustDomain: "acme.example", registry });
const tokens = [];
for (let index = 0; index < COUNT; index++)
  tokens.push(
    (await authority.issueToken(id(index), { audience: AUDIENCE, ttlSeconds: 3600 })).token,
  );

// Memory per cached identity: the heap after full collections, before and after 100,000 tokens
// are cached, with nothing else allocated in between that survives (the tokens already exist).
// Without --expose-gc the figure would be noise (it once came out negative): refuse to guess.
if (typeof globalThis.gc !== "function") throw new Error("run fleet.mjs with node --expose-gc");
const settledHeap = () => {
  for (let index = 0; index < 4; index++) globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const few = authority.verifier();
const fleet = authority.verifier();
for (const token of tokens.slice(0, 10)) await few.verify(token, { audience: AUDIENCE });
const before = settledHeap();
for (const token of tokens) await fleet.verify(token, { audience: AUDIENCE });
const perIdentity = (settledHeap() - before) / COUNT;

const fewMap = new Map(tokens.slice(0, 10).map((token, index) => [token, { index }]));
const fleetMap = new Map(tokens.map((token, index) => [token, { index }]));
// A fixed pseudo-random walk over the tokens, the same for both cases.
let state = 12345;
const next = (modulo) => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state % modulo;
};
const results = await compare(
  [
    {
      name: "verifier.verify, cache hit, 10 active agents",
      run: () => few.verify(tokens[next(10)], { audience: AUDIENCE }),
      batch: 100,
    },
    {
      name: "verifier.verify, cache hit, 100,000 active agents",
      run: () => fleet.verify(tokens[next(COUNT)], { audience: AUDIENCE }),
      batch: 100,
    },
    // The floor under the second row, in the same run: one bare Map.get by token among 10 keys
    // and among 100,000 (random order), nothing of AgentGate's. The gap between these two is the
    // memory latency of a cache that outgrows the CPU's caches, which no cache layout removes.
    {
      name: "floor: Map.get by token, 10 keys",
      run: () => fewMap.get(tokens[next(10)]),
      batch: 100,
    },
    {
      name: "floor: Map.get by token, 100,000 keys",
      run: () => fleetMap.get(tokens[next(COUNT)]),
      batch: 100,
    },
  ],
  { rounds: 1000, warmup: 100 },
);
console.log(`\n## Identity at fleet scale\n\n${await machine()}\n`);
console.log(table(results, "verifier.verify, cache hit, 10 active agents"));
const [ten, hundredThousand, mapTen, mapHundredThousand] = results;
console.log(
  `\n100,000 active agents vs 10: ${(hundredThousand.p50 / ten.p50).toFixed(2)}× p50, ${(hundredThousand.p99 / ten.p99).toFixed(2)}× p99 (goal ≤ 2×); the bare Map.get floor: ${(mapHundredThousand.p50 / mapTen.p50).toFixed(2)}× p50, +${(mapHundredThousand.p50 - mapTen.p50).toFixed(2)} µs`,
);
console.log(
  `memory per cached identity (100,000 agents, tokens held by the caller): ${(perIdentity / 1024).toFixed(2)} KiB (goal ≤ 1 KiB)`,
);
await record("identity-fleet", results, "verifier.verify, cache hit, 10 active agents", {
  kib_per_cached_identity: perIdentity / 1024,
});
// Keep both verifiers reachable until the end.
if ((await fleet.verify(tokens[0], { audience: AUDIENCE })).tokenId === "") console.log("");
