// `pnpm bench` for the server: AuthZEN evaluations per second on loopback with 1 and with 64
// concurrent clients, each as a ratio to a bare node:http handler measured in the same run, and
// the batch endpoint with 100 items (bounded: a fixed number of requests, then it stops).
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accessTime } from "@agentgate/core/internal";
import { machine } from "../../core/bench/harness.mjs";
import { initWorkspace, startServer } from "../dist/index.js";

const SUPPORT = "spiffe://acme.example/agent/support";
const dir = join(mkdtempSync(join(tmpdir(), "agentgate-bench-serve-")), ".agentgate");
const workspace = await initWorkspace(dir, {
  trustDomain: "acme.example",
  audience: "https://tools.acme.example",
  timeZone: "Europe/Berlin",
});
writeFileSync(
  join(workspace.policies, "policies.cedar"),
  `permit (principal == Agent::"${SUPPORT}", action == Action::"read", resource == Tool::"crm_lookup") when { context.resources has customer && context.resources.customer == "acme" };`,
);
const server = await startServer({ workspace, port: 0 });
const body = JSON.stringify({
  subject: { type: "agent", id: SUPPORT, properties: { scopes: ["crm:read"] } },
  action: { name: "read", properties: { tool: "crm_lookup" } },
  resource: { type: "tool", id: "crm_lookup" },
  context: {
    time: accessTime(Date.now(), "Europe/Berlin"),
    environment: "bench",
    resources: { customer: "acme" },
  },
});
// The floor: a bare node:http server on the same loopback and client, answering a fixed permit.
const bare = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end('{"decision":true}');
  });
});
await new Promise((resolve) => bare.listen(0, "127.0.0.1", resolve));
const bareUrl = `http://127.0.0.1:${bare.address().port}`;

const batchBody = JSON.stringify({
  ...JSON.parse(body),
  evaluations: Array.from({ length: 100 }, (_, index) => ({
    resource: { type: "tool", id: index % 2 === 0 ? "crm_lookup" : "crm_delete" },
  })),
});

/** Requests per second and per-request latency (p50, p99 in ms) of `clients` concurrent clients. */
async function rate(
  clients,
  total,
  base = server.url,
  path = "/access/v1/evaluation",
  payload = body,
) {
  let next = 0;
  const latencies = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < total) {
        const sent = process.hrtime.bigint();
        const response = await fetch(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: payload,
        });
        const answer = await response.json();
        latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
        if (!(answer.decision ?? answer.evaluations?.[0]?.decision))
          throw new Error("expected a permit");
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    perSecond: total / (Number(process.hrtime.bigint() - started) / 1e9),
    p50: at(0.5),
    p99: at(0.99),
  };
}
await rate(4, 500);
await rate(4, 500, bareUrl);
// Interleaved, so that both sides of each ratio see the same machine load.
const bareOne = await rate(1, 2000, bareUrl);
const one = await rate(1, 2000);
const bareMany = await rate(64, 5000, bareUrl);
const many = await rate(64, 5000);
const bareBatch = await rate(1, 300, bareUrl, "/access/v1/evaluations", batchBody);
const batch = await rate(1, 300, server.url, "/access/v1/evaluations", batchBody);
await server.close();
bare.close();
console.log(`\n## Server\n\n${await machine()}\n`);
console.log(
  "| AuthZEN on loopback (server and client in one process) | requests/s | p50 ms | p99 ms | bare node:http, same client (req/s, p50, p99) | vs bare (req/s) |\n| --- | ---: | ---: | ---: | ---: | ---: |",
);
const ms = (value) => value.toFixed(2);
const row = (label, value, floor) =>
  `| ${label} | ${Math.round(value.perSecond).toLocaleString("en")} | ${ms(value.p50)} | ${ms(value.p99)} | ${Math.round(floor.perSecond).toLocaleString("en")}, ${ms(floor.p50)}, ${ms(floor.p99)} | ${(value.perSecond / floor.perSecond).toFixed(2)}× |`;
console.log(row("evaluation, 1 client", one, bareOne));
console.log(row("evaluation, 64 concurrent clients", many, bareMany));
console.log(row("evaluations (batch of 100 items), 1 client", batch, bareBatch));
console.log(
  `\nBatch of 100: ${Math.round(batch.perSecond * 100).toLocaleString("en")} decisions/s (${ms((batch.p50 * 1000) / 100)} µs per item at p50).`,
);
