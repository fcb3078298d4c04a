// AgentGate quick start. Part 1: the identity life cycle of two agents. Part 2: two LangChain
// agents (a scripted model, no API key, no network) whose every tool call goes through the Gate.
// Checks every outcome it prints and exits non-zero on any surprise.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { CedarPolicyClient } from "@agentgate/cedar";
import { FileAuditLog, readAuditLog, verifyAuditLog } from "@agentgate/core/node";
import { agentsTour } from "./agents-tour.js";
import { identityTour } from "./identity-tour.js";
import { printTable, type Row } from "./table.js";

const quiet = process.argv.includes("--quiet");
// `--model <provider:model>` runs part 2 on a real model (needs its API key and its LangChain
// provider package, e.g. `npm install @langchain/openai` and OPENAI_API_KEY).
const modelFlag = process.argv.indexOf("--model");
const modelName = modelFlag >= 0 ? process.argv[modelFlag + 1] : undefined;
const model =
  modelName === undefined
    ? undefined
    : await (await import("langchain/chat_models/universal")).initChatModel(modelName, {
        temperature: 0,
      });
// The demo's directory is an AgentGate directory like the one `agentgate init` makes (keys,
// agents.json, revocations.jsonl, config.json, audit/), so the agentgate CLI can read what it
// wrote. It is left in place for that; the OS cleans its temp folder.
const home = mkdtempSync(join(tmpdir(), "agentgate-quickstart-"));
writeFileSync(
  join(home, "config.json"),
  `${JSON.stringify({ trustDomain: "acme.example", audience: "https://tools.acme.example", timeZone: "Europe/Berlin" }, null, 2)}\n`,
);

// The policies are Cedar files (policies/*.cedar), validated against the AgentGate schema
// (policies/schema.cedarschema) at load. The seed rule: the support agent may call crm_lookup
// only for customer acme, only in business hours (Europe/Berlin), only to read.
const policy = CedarPolicyClient.fromDirectory(
  fileURLToPath(new URL("../policies", import.meta.url)),
);
// The audit log: hash-chained JSON Lines with signed checkpoints, in the temporary directory.
const auditDirectory = join(home, "audit");
const audit = await FileAuditLog.open({ directory: auditDirectory });

const identityRows = await identityTour(home);
const agentRows = await agentsTour({ policy, audit, ...(model === undefined ? {} : { model }) });

await audit.close();
const verification = await verifyAuditLog(auditDirectory);
const chains: string[] = [];
for await (const record of readAuditLog(auditDirectory, { type: "decision" })) {
  if ((record.chain?.length ?? 0) > 1)
    chains.push((record.chain ?? []).map((id) => id.split("/").at(-1)).join(" → "));
}
const auditRows: Row[] = [
  {
    step: "verify the audit log",
    outcome: verification.ok ? "ok" : "broken",
    detail: `${verification.records} hash-chained records; signed checkpoint matches: ${verification.checkpoint?.verified === true}`,
    ok: verification.ok && verification.checkpoint?.verified === true,
  },
  {
    step: "delegated calls in the log",
    outcome: chains.length > 0 ? "ok" : "missing",
    detail: chains.length > 0 ? `chain ${chains[0]}` : "no delegated call was audited",
    ok: chains.length > 0,
  },
];

if (!quiet) {
  printTable("AgentGate quick start, part 1: agent identity life cycle", identityRows);
  printTable(
    "AgentGate quick start, part 2: LangChain agents through the Gate (Cedar policies)",
    agentRows,
  );
  printTable("AgentGate quick start, part 3: the audit trail", auditRows);
}
const rows: Row[] = [...identityRows, ...agentRows, ...auditRows];
const failed = rows.filter((row) => !row.ok);
if (failed.length > 0) {
  console.error(
    `\n${failed.length} step(s) did not behave as expected: ${failed.map((row) => row.step).join("; ")}`,
  );
  process.exit(1);
}
console.log(`quickstart: ${rows.length} passed, 0 failed`);
if (!quiet) {
  // The one command to read the log this run wrote (the CLI is a dependency of this starter).
  const starter = relative(process.cwd(), fileURLToPath(new URL("..", import.meta.url)));
  console.log(
    `\nInspect the audit log it wrote (${auditDirectory}):\n  ${starter === "" ? "" : `cd ${starter} && `}npx agentgate --dir ${home} audit query`,
  );
}
