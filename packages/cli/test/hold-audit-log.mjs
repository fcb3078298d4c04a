// Holds an AgentGate audit log the way a running gate does, until stdin closes.
// Usage: node hold-audit-log.mjs <audit directory>
import { FileAuditLog } from "@agentgate/core/node";

const log = await FileAuditLog.open({ directory: process.argv[2] });
process.stdout.write("ready\n");
process.stdin.resume();
process.stdin.on("end", async () => {
  await log.close();
  process.exit(0);
});
