// Asks for an approval on the shared database and waits for an answer that never comes: the
// cluster test kills it with SIGKILL and checks that the approval is still pending.
import { openPostgresStores } from "@agentgate/postgres";

const [url, schema, invocationId] = process.argv.slice(2);
const stores = await openPostgresStores({ url, schema });
const request = {
  invocationId,
  reason: "policy",
  agent: "spiffe://acme.example/agent/support",
  principal: "user:carol",
  chain: ["user:carol"],
  tool: "issue_refund",
  action: "write",
  resource: { type: "tool", id: "issue_refund" },
  arguments: { amount: 900 },
  decision: {
    allowed: true,
    policies: [],
    reason: "approval",
    safeReason: "approval",
    obligations: [],
  },
};
const waiting = stores.approvals.requestApproval(request, { signal: AbortSignal.timeout(600_000) });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await waiting.catch(() => undefined);
