// A small latency harness for `pnpm bench`. Cases that are compared run interleaved, round by
// round, so that drift (frequency scaling, a neighbour's load) hits them alike and the ratios
// stay meaningful on a shared 2-core machine. Timings are per operation, in microseconds,
// measured in batches so timer overhead stays small against sub-microsecond operations.

/**
 * @typedef {{ name: string, run: () => unknown, batch?: number }} Case
 * @typedef {{ name: string, p50: number, p99: number, samples: number }} Result
 */

/**
 * Measures every case for `rounds` rounds, interleaved.
 * @param {Case[]} cases
 * @param {{ rounds?: number, warmup?: number }} [options]
 * @returns {Promise<Result[]>}
 */
export async function compare(cases, options = {}) {
  const rounds = options.rounds ?? 2000;
  const warmup = options.warmup ?? 300;
  const timings = cases.map(() => new Float64Array(rounds));
  for (let round = -warmup; round < rounds; round++) {
    for (let index = 0; index < cases.length; index++) {
      const { run, batch = 1 } = cases[index];
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) await run();
      const micros = Number(process.hrtime.bigint() - start) / 1000 / batch;
      if (round >= 0) timings[index][round] = micros;
    }
  }
  return cases.map((entry, index) => summarize(entry.name, timings[index]));
}

function summarize(name, values) {
  values.sort();
  const at = (q) => values[Math.min(values.length - 1, Math.floor(q * values.length))];
  return { name, p50: at(0.5), p99: at(0.99), samples: values.length };
}

/** Formats results as a Markdown table, with each p50 as a ratio to `baseline`'s p50. */
export function table(results, baseline) {
  const base = results.find((result) => result.name === baseline);
  const rows = results.map((result) => {
    const ratio = base ? `${(result.p50 / base.p50).toFixed(2)}×` : "";
    return `| ${result.name} | ${fmt(result.p50)} | ${fmt(result.p99)} | ${ratio} |`;
  });
  return [
    `| case | p50 µs | p99 µs | p50 vs ${baseline} |`,
    "| --- | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

function fmt(value) {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** One line naming the machine and versions, for BENCHMARKS.md. */
export async function machine() {
  const os = await import("node:os");
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `Node ${process.version}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.platform()} ${os.release()}`;
}

/**
 * A gate for adapter benchmarks: one registered agent, an always-allow policy and a sink that
 * discards events, so the figures isolate the adapter and the gate's own work. The credential
 * keeps one token for the whole run (a verified-token cache hit per call).
 * @param {{ agent: string, audience: string, maxScopes: string[], owner?: string }} options
 */
export async function allowAllGate({ agent, audience, maxScopes, owner = "bench" }) {
  const core = await import("../dist/index.js");
  const { createTestGate } = await import("../dist/testing/index.js");
  const discard = { write: async () => {}, flush: async () => {}, close: async () => {} };
  const { gate, authority } = await createTestGate({
    audience,
    agents: [{ id: agent, owner, maxScopes }],
    policy: new core.FunctionPolicyClient(() => core.allow("ok")),
    audit: discard,
  });
  const credential = core.CredentialProvider.forAgent(authority, agent, {
    audience,
    ttlSeconds: 3600,
  });
  return { gate, authority, credential };
}

/**
 * The floor of one audit record: the same JSON, SHA-256 chain hash and one synchronous append
 * the log does, and nothing else (no validation, locking, rotation or checkpoints).
 * @param {string} path a file to append to
 * @returns {(event: object) => void}
 */
export async function auditFloor(path) {
  const { hash } = await import("node:crypto");
  const { openSync, writeSync } = await import("node:fs");
  const fd = openSync(path, "a");
  let prev = "0".repeat(64);
  let seq = 0;
  return (event) => {
    const body = `{"seq":${seq++},"prev":"${prev}",${JSON.stringify(event).slice(1)}`;
    prev = hash("sha256", body, "hex");
    writeSync(fd, `${body.slice(0, -1)},"hash":"${prev}"}\n`);
  };
}

/**
 * Writes a bench's rows to `bench/results.json` at the repository root (name, p50_us, p99_us
 * and the ratio of each p50 to `baseline`'s), replacing that bench's earlier rows and keeping
 * the others', so runs can be compared by a script.
 * @param {string} bench
 * @param {Result[]} results
 * @param {string} baseline
 * @param {Record<string, number>} [figures] extra named figures (throughputs, load times)
 */
export async function record(bench, results, baseline, figures = {}) {
  const { mkdirSync, readFileSync, writeFileSync } = await import("node:fs");
  const file = new URL("../../../bench/results.json", import.meta.url);
  mkdirSync(new URL(".", file), { recursive: true });
  let all = { benches: {} };
  try {
    all = JSON.parse(readFileSync(file, "utf8"));
  } catch {}
  const base = results.find((result) => result.name === baseline);
  all.benches[bench] = {
    at: new Date().toISOString(),
    machine: await machine(),
    baseline,
    rows: results.map((result) => ({
      name: result.name,
      p50_us: round(result.p50),
      p99_us: round(result.p99),
      ratio: base ? round(result.p50 / base.p50) : null,
    })),
    figures,
  };
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}

function round(value) {
  return Math.round(value * 1000) / 1000;
}
