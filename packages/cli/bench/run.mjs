// `pnpm bench` for the server: AuthZEN evaluations per second on loopback with 1 and with 64
// concurrent clients (bounded: a fixed number of requests, then it stops).
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

async function rate(clients, total, base = server.url) {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < total) {
        const response = await fetch(`${base}/access/v1/evaluation`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        if (!(await response.json()).decision) throw new Error("expected a permit");
      }
    }),
  );
  return total / (Number(process.hrtime.bigint() - started) / 1e9);
}
await rate(4, 500);
await rate(4, 500, bareUrl);
const bareOne = await rate(1, 2000, bareUrl);
const one = await rate(1, 2000);
const bareMany = await rate(64, 5000, bareUrl);
const many = await rate(64, 5000);
await server.close();
bare.close();
console.log(`\n## Server\n\n${await machine()}\n`);
console.log(
  "| AuthZEN evaluation on loopback (server and client in one process) | evaluations/s | bare node:http, same client | vs bare |\n| --- | ---: | ---: | ---: |",
);
const row = (label, value, floor) =>
  `| ${label} | ${Math.round(value).toLocaleString("en")} | ${Math.round(floor).toLocaleString("en")} | ${(value / floor).toFixed(2)}× |`;
console.log(row("1 client", one, bareOne));
console.log(row("64 concurrent clients", many, bareMany));
