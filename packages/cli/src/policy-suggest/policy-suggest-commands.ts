import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { CedarPolicyClient, DEFAULT_SCHEMA_PATH } from "@agentgate/cedar";
import type { Command } from "commander";
import {
  directorySettings,
  logDirectory,
  type VerificationFlags,
  verificationOptions,
  withVerificationFlags,
} from "../evidence/log-options.js";
import { readVerifiedLog } from "../evidence/verified-log.js";
import { agentId, timeZone } from "../input.js";
import { table } from "../output.js";
import type { CommandContext } from "../program.js";
import { CliUsageError } from "../usage-error.js";
import { replayCalls } from "./replay.js";
import { suggestPolicies } from "./suggest.js";

/** The only `*.cedarschema` of a directory, if it has exactly one. */
function schemaIn(directory: string): string | undefined {
  if (!existsSync(directory)) return undefined;
  const schemas = readdirSync(directory).filter((name) => name.endsWith(".cedarschema"));
  return schemas.length === 1 ? join(directory, schemas[0] as string) : undefined;
}

/**
 * Registers `policy suggest` (Cedar permits from what an agent was observed doing) and `policy
 * replay` (shadow mode: recorded calls decided again by a candidate set) on the `policy` command.
 * Both read only a log that verifies (exit 1 with `audit_unverified` otherwise).
 */
export function registerPolicySuggestCommands(policy: Command, context: CommandContext): void {
  const { dir, output, print, fail } = context;
  withVerificationFlags(
    policy
      .command("suggest")
      .description(
        "write the narrowest Cedar permits for what an agent was observed doing (allowed calls of a verified log), for review",
      )
      .requiredOption("--from <log>", "the audit log directory to learn from")
      .requiredOption("--agent <id>", "the agent whose allowed calls become permits")
      .option("--out <dir>", "write <dir>/suggested-<agent>.cedar (default: print it)")
      .option(
        "--schema <file>",
        "validate against this schema (default: <dir>/policies' own, else AgentGate's)",
      )
      .option(
        "--time-zone <zone>",
        "the gate's time zone for hours (default: config.json's, else UTC)",
        timeZone,
      )
      .option("--json", "print JSON"),
  ).action(
    async (
      options: VerificationFlags & {
        from: string;
        agent: string;
        out?: string;
        schema?: string;
        timeZone?: string;
        json?: boolean;
      },
    ) => {
      agentId("--agent", options.agent);
      const log = logDirectory("--from", options.from);
      const settings = await directorySettings(dir());
      const schemaPath = options.schema ?? schemaIn(join(dir(), "policies")) ?? DEFAULT_SCHEMA_PATH;
      let schema: string;
      try {
        schema = readFileSync(schemaPath, "utf8");
      } catch {
        throw new CliUsageError(`--schema ${schemaPath}: cannot read it.`);
      }
      const verified = await readVerifiedLog(log, verificationOptions(dir(), options));
      const suggestion = suggestPolicies(verified.records, {
        agent: options.agent,
        schema,
        schemaSource: schemaPath,
        source: log,
        timeZone: options.timeZone ?? settings.timeZone,
      });
      let file: string | undefined;
      if (options.out !== undefined) {
        mkdirSync(options.out, { recursive: true });
        file = join(options.out, `suggested-${options.agent.split("/").at(-1)}.cedar`);
        writeFileSync(file, suggestion.text);
        // The set loads where it is written: `policy replay --policies <out>` uses the same schema.
        if (schemaIn(options.out) === undefined)
          copyFileSync(schemaPath, join(options.out, "schema.cedarschema"));
      }
      const summary = {
        agent: options.agent,
        policies: suggestion.policies,
        calls: suggestion.calls,
        notes: suggestion.notes,
        uncovered: verified.uncovered,
        ...(file === undefined ? { text: suggestion.text } : { file }),
      };
      print(options.json === true, summary, () =>
        file === undefined
          ? suggestion.text.trimEnd()
          : `${suggestion.policies} permit(s) from ${suggestion.calls} allowed call(s) of ${options.agent}: ${file}${suggestion.notes.map((note) => `\n  note: ${note}`).join("")}`,
      );
      if (verified.uncovered > 0)
        output.err(
          `agentgate: ${verified.uncovered} record(s) newer than the last signed checkpoint were not used.`,
        );
      if (suggestion.calls === 0) {
        output.err(`agentgate: no allowed call of ${options.agent} in the verified log.`);
        fail(1);
      }
    },
  );

  withVerificationFlags(
    policy
      .command("replay")
      .description(
        "shadow mode: decide every recorded call again with a candidate policy set and list each decision that would change; exit 1 when any would",
      )
      .requiredOption("--policies <dir>", "the candidate policy directory (*.cedar and its schema)")
      .requiredOption("--from <log>", "the audit log directory whose calls are replayed")
      .option(
        "--time-zone <zone>",
        "the gate's time zone (default: config.json's, else UTC)",
        timeZone,
      )
      .option(
        "--environment <name>",
        "the gate's environment (default: config.json's, else development)",
      )
      .option("--all", "list every replayed call, not only the changed ones")
      .option("--json", "print JSON"),
  ).action(
    async (
      options: VerificationFlags & {
        policies: string;
        from: string;
        timeZone?: string;
        environment?: string;
        all?: boolean;
        json?: boolean;
      },
    ) => {
      if (!existsSync(options.policies))
        throw new CliUsageError(`--policies ${options.policies}: no such directory.`);
      const log = logDirectory("--from", options.from);
      const settings = await directorySettings(dir());
      const candidate = CedarPolicyClient.fromDirectory(options.policies);
      const verified = await readVerifiedLog(log, verificationOptions(dir(), options));
      const agents = new Map(settings.agents.map((record) => [record.id, record]));
      const replay = await replayCalls(verified.records, candidate, {
        timeZone: options.timeZone ?? settings.timeZone,
        environment: options.environment ?? settings.environment,
        registered: (agent) => agents.get(agent),
      });
      const count = (change: string) =>
        replay.changes.filter((call) => call.change === change).length;
      const result = {
        replayed: replay.calls.length,
        changed: replay.changes.length,
        allowToDeny: count("allow→deny"),
        denyToAllow: count("deny→allow"),
        skipped: replay.skipped,
        uncovered: verified.uncovered,
        changes: replay.changes,
        ...(options.all === true ? { calls: replay.calls } : {}),
      };
      print(options.json === true, result, () => {
        const shown = (options.all === true ? replay.calls : replay.changes).map((call) => ({
          ...call,
          change: call.change ?? "same",
        }));
        return [
          shown.length === 0
            ? "no decision would change"
            : table(shown, [
                "seq",
                "time",
                "agent",
                "tool",
                "action",
                "resource",
                "change",
                "replayedPolicies",
              ]),
          "",
          `replayed ${result.replayed} call(s): ${result.changed} would change (${result.allowToDeny} allow→deny, ${result.denyToAllow} deny→allow); ${result.skipped} other record(s) skipped (outcomes, approvals, refusals before policy)`,
        ].join("\n");
      });
      if (replay.changes.length > 0) fail(1);
    },
  );
}
