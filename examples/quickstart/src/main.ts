// AgentGate quick start. Part 1: the identity life cycle of two agents. Part 2: two LangChain
// agents (a scripted model, no API key, no network) whose every tool call goes through the Gate.
// Checks every outcome it prints and exits non-zero on any surprise.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allow, deny, FunctionPolicyClient, MemoryAuditSink } from "@agentgate/core";
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
const home = mkdtempSync(join(tmpdir(), "agentgate-quickstart-"));

// The seed rule: support may call crm_lookup only for customer acme, only in business hours
// (Mon-Fri 09:00-17:00, Europe/Berlin), only to read. Ops may use what its scopes allow.
const policy = new FunctionPolicyClient((request) => {
  const { subject, action, context } = request;
  const scope = action.name === "read" ? "crm:read" : "crm:write";
  if (!subject.properties.scopes.includes(scope)) {
    return deny(`${subject.id} lacks ${scope}`, {
      policies: ["scopes"],
      safeReason: "This agent may only read.",
    });
  }
  if (subject.id.endsWith("/agent/support")) {
    if (context.resources.customer !== undefined && context.resources.customer !== "acme") {
      return deny("support serves acme only", {
        policies: ["support-customer"],
        safeReason: "Only customer acme is allowed.",
      });
    }
    const { weekday, hour } = context.time;
    if (weekday > 5 || hour < 9 || hour >= 17) {
      return deny("outside business hours", {
        policies: ["support-hours"],
        safeReason: "Not permitted outside business hours.",
      });
    }
  }
  return allow("permitted", { policies: ["crm-access"] });
});
const audit = new MemoryAuditSink();

const identityRows = await identityTour(join(home, "identity"));
const agentRows = await agentsTour({ policy, audit, ...(model === undefined ? {} : { model }) });

if (!quiet) {
  printTable("AgentGate quick start, part 1: agent identity life cycle", identityRows);
  printTable("AgentGate quick start, part 2: LangChain agents through the Gate", agentRows);
  console.log(
    `\nAudit: ${audit.events.length} events (decision, approval, outcome) for ${agentRows.length} tool calls.`,
  );
  console.log(`State kept in ${home}`);
}
const rows: Row[] = [...identityRows, ...agentRows];
const failed = rows.filter((row) => !row.ok);
if (failed.length > 0) {
  console.error(
    `\n${failed.length} step(s) did not behave as expected: ${failed.map((row) => row.step).join("; ")}`,
  );
  process.exit(1);
}
console.log(`quickstart: ${rows.length} passed, 0 failed`);
