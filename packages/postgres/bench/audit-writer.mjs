// One of the processes of the audit append bench: COUNT appends, IN_FLIGHT at a time, to a
// chain of its own; prints { count, ms } when every append was acknowledged (committed).
import { CheckpointKey } from "@agentgate/core/node";
import { PostgresAuditLog } from "../dist/index.js";

const [url, schema, count, inFlight] = process.argv.slice(2);
const total = Number(count);
const log = await PostgresAuditLog.open({ connectionString: url }, schema, {
  checkpointKey: CheckpointKey.load({
    env: { AGENTGATE_CHECKPOINT_KEY: Buffer.alloc(32, 3).toString("base64url") },
  }),
  checkpointEvery: 10_000,
});
const event = (index) => ({
  v: 1,
  id: `bench-${process.pid}-${index}`,
  type: "decision",
  time: new Date().toISOString(),
  invocationId: `inv-${index}`,
  agent: "spiffe://acme.example/agent/support",
  principal: "user:carol@acme.example",
  chain: ["user:carol@acme.example", "spiffe://acme.example/agent/support"],
  tool: { name: "crm_lookup" },
  arguments: { customerId: "acme" },
  decision: { allowed: true, policies: ["p1"], reason: "ok" },
});
process.stdout.write("ready\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: Number(inFlight) }, async () => {
    while (next < total) await log.write(event(next++));
  }),
);
const ms = performance.now() - started;
await log.close();
process.stdout.write(`${JSON.stringify({ count: total, ms })}\n`);
process.exit(0);
