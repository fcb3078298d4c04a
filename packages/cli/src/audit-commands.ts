import { existsSync } from "node:fs";
import { type AuditVerification, readAuditLog, verifyAuditLog } from "@agentgate/core/node";
import { type Command, Option } from "commander";
import { instant, positiveInteger } from "./input.js";
import { csv, table } from "./output.js";
import type { CommandContext } from "./program.js";
import { accessReport } from "./report.js";
import { CliUsageError } from "./usage-error.js";

/** Options every audit command takes: which log. */
interface LogOptions {
  /** The log directory; default `<dir>/audit`. */
  log?: string;
  /** A pinned checkpoint public key (a key file), instead of the one beside the log. */
  checkpointKey?: string;
}

interface QueryOptions extends LogOptions {
  agent?: string;
  tool?: string;
  type?: string;
  denied?: boolean;
  from?: string;
  to?: string;
}

/** `agentgate audit verify|query|tail|export|report`. */
export function registerAuditCommands(program: Command, context: CommandContext): void {
  const { workspace, output, print, fail } = context;
  // A log given with --log needs no AgentGate directory: an auditor verifies a copy. Without
  // --log the directory must exist (exit 3 otherwise): a missing log never reads as "0 records".
  const logOf = async (options: LogOptions): Promise<string> => {
    if (options.log === undefined) return (await workspace()).audit;
    if (!existsSync(options.log))
      throw new CliUsageError(`--log ${options.log}: no audit log there.`);
    return options.log;
  };
  const verify = async (options: LogOptions) =>
    verifyAuditLog(
      await logOf(options),
      options.checkpointKey === undefined ? {} : { checkpointKey: options.checkpointKey },
    );
  const withLog = (command: Command) =>
    command
      .option("--log <dir>", "the audit log directory (default <dir>/audit)")
      .option(
        "--checkpoint-key <file>",
        "verify the signed checkpoint with this pinned public key, not the one beside the log",
      );
  const audit = program.command("audit").description("the audit log");

  withLog(
    audit
      .command("verify")
      .description(
        "check every record's hash, the chain and the signed checkpoint; exit 1 when broken",
      ),
  )
    .option("--json", "print JSON")
    .action(async (options: LogOptions & { json?: boolean }) => {
      const result = await verify(options);
      print(options.json === true, result, () =>
        result.ok
          ? `ok: ${result.records} records verify${result.checkpoint ? ` (checkpoint at ${result.checkpoint.seq}, signed)` : ""}`
          : `BROKEN at record ${result.firstBadSeq}: ${result.reason}`,
      );
      if (!result.ok) fail(1);
    });

  const query = (command: Command) =>
    command
      .option("--log <dir>", "the audit log directory (default <dir>/audit)")
      .option("--agent <id>")
      .option("--tool <name>")
      .option("--type <type>")
      .option("--denied", "only denials")
      .option("--from <iso>", "from this date or instant (ISO 8601, inclusive)", instant)
      .option("--to <iso>", "up to this date or instant (ISO 8601, exclusive)", instant);
  const read = async (options: QueryOptions) => {
    const events = [];
    for await (const record of readAuditLog(await logOf(options), {
      ...(options.agent ? { agent: options.agent } : {}),
      ...(options.tool ? { tool: options.tool } : {}),
      ...(options.type ? { type: options.type as "decision" } : {}),
      ...(options.denied ? { allowed: false } : {}),
      ...(options.from ? { from: options.from } : {}),
      ...(options.to ? { to: options.to } : {}),
    })) {
      events.push(record);
    }
    return events;
  };
  const flat = (events: Awaited<ReturnType<typeof read>>) =>
    events.map((event) => ({
      seq: event.seq,
      time: event.time,
      type: event.type,
      agent: event.agent,
      tool: event.tool?.name,
      allowed: event.decision?.allowed,
      code: event.decision?.code ?? event.outcome?.errorCode,
      chain: event.chain?.join(" > "),
    }));
  query(
    audit.command("query").description("events matching filters").option("--json", "print JSON"),
  ).action(async (options: QueryOptions & { json?: boolean }) => {
    const events = await read(options);
    print(options.json === true, events, () =>
      table(flat(events), ["seq", "time", "type", "agent", "tool", "allowed", "code"]),
    );
  });
  audit
    .command("tail")
    .description("the last events")
    .option("--log <dir>", "the audit log directory (default <dir>/audit)")
    .option("-n, --lines <count>", "how many", positiveInteger, 20)
    .option("--json", "print JSON")
    .action(async (options: LogOptions & { lines: number; json?: boolean }) => {
      const events = (await read({ ...(options.log ? { log: options.log } : {}) })).slice(
        -options.lines,
      );
      print(options.json === true, events, () =>
        table(flat(events), ["seq", "time", "type", "agent", "tool", "allowed", "code"]),
      );
    });
  query(
    audit
      .command("export")
      .description("events as JSON Lines or CSV")
      .addOption(new Option("--format <format>").choices(["jsonl", "csv"]).default("jsonl")),
  ).action(async (options: QueryOptions & { format: "jsonl" | "csv" }) => {
    const events = await read(options);
    output.out(
      options.format === "csv"
        ? csv(flat(events), ["seq", "time", "type", "agent", "tool", "allowed", "code", "chain"])
        : events.map((event) => JSON.stringify(event)).join("\n"),
    );
  });

  withLog(
    audit
      .command("report")
      .description(
        "verify the log, then per agent: owner, supervision, revoked, calls, denials, tools, unused scopes, findings",
      ),
  )
    .option("--from <iso>", "from this date or instant (ISO 8601, inclusive)", instant)
    .option("--to <iso>", "up to this date or instant (ISO 8601, exclusive)", instant)
    .option("--idle-days <days>", "report agents idle this long", positiveInteger, 30)
    .option(
      "--allow-broken",
      "print the report under the BROKEN banner when the log does not verify",
    )
    .option("--json", "print JSON")
    .option("--csv", "print CSV")
    .action(
      async (
        options: LogOptions & {
          from?: string;
          to?: string;
          idleDays: number;
          allowBroken?: boolean;
          json?: boolean;
          csv?: boolean;
        },
      ) => {
        const space = await workspace();
        // Counts over a log that does not verify would read as facts ("denials 0"): verify first.
        const verification = await verify(options);
        if (!verification.ok) {
          output.err(
            brokenBanner(await logOf(options), verification, options.allowBroken === true),
          );
          fail(1);
          if (options.allowBroken !== true) return;
        }
        const rows = await accessReport(await logOf(options), await space.registry.list(), {
          idleDays: options.idleDays,
          revoked: (agent) => space.revocations.isRevoked("agent", agent),
          ...(options.from ? { from: options.from } : {}),
          ...(options.to ? { to: options.to } : {}),
        });
        const columns = [
          "agent",
          "owner",
          "supervision",
          "revoked",
          "calls",
          "denials",
          "tools",
          "scopesNeverPresented",
          "findings",
        ];
        if (options.csv === true)
          output.out(csv(rows as unknown as Record<string, unknown>[], columns));
        else
          print(options.json === true, rows, () =>
            table(rows as unknown as Record<string, unknown>[], columns),
          );
      },
    );
}

/** The banner a report over a broken log starts with: impossible to miss, on stderr. */
function brokenBanner(log: string, result: AuditVerification, shown: boolean): string {
  const rule = "!".repeat(72);
  return [
    rule,
    `!! BROKEN AUDIT LOG: ${log} does not verify`,
    `!! at record ${result.firstBadSeq}: ${result.reason}`,
    shown
      ? "!! The report below counts records that cannot be trusted."
      : "!! No report: its counts would not be facts. --allow-broken shows it anyway.",
    "!! Details: agentgate audit verify --log <dir>",
    rule,
  ].join("\n");
}
