import { existsSync } from "node:fs";
import {
  type AuditVerification,
  auditChains,
  readAuditLog,
  verifyAuditLog,
} from "@agentgate/core/node";
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

/** Every chain of a log verified: the log's own first, then each writer's (K83). */
type VerifiedChains = [AuditVerification, ...Array<AuditVerification & { writer: string }>];

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
  // Every chain of the log (K83): the log's own first, with the pinned key when one is given,
  // then each writer's, each against the checkpoint key beside it.
  const verify = async (options: LogOptions): Promise<VerifiedChains> => {
    const [own, ...writers] = auditChains(await logOf(options));
    return [
      await verifyAuditLog(
        own as string,
        options.checkpointKey === undefined ? {} : { checkpointKey: options.checkpointKey },
      ),
      ...(await Promise.all(
        writers.map(async (chain) => ({
          writer: chain.slice(chain.lastIndexOf("/") + 1),
          ...(await verifyAuditLog(chain)),
        })),
      )),
    ];
  };
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
      const [result, ...writers] = await verify(options);
      const shown = writers.length === 0 ? result : { ...result, writers };
      const line = (verified: AuditVerification) =>
        verified.ok
          ? `ok: ${verified.records} records verify${verified.checkpoint ? ` (checkpoint at ${verified.checkpoint.seq}, signed)` : ""}`
          : `BROKEN at record ${verified.firstBadSeq}: ${verified.reason}`;
      print(options.json === true, shown, () =>
        [line(result), ...writers.map((chain) => `writer ${chain.writer}: ${line(chain)}`)].join(
          "\n",
        ),
      );
      if (![result, ...writers].every((verified) => verified.ok)) fail(1);
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
    const chains = auditChains(await logOf(options));
    for (const chain of chains) {
      for await (const record of readAuditLog(chain, {
        ...(options.agent ? { agent: options.agent } : {}),
        ...(options.tool ? { tool: options.tool } : {}),
        ...(options.type ? { type: options.type as "decision" } : {}),
        ...(options.denied ? { allowed: false } : {}),
        ...(options.from ? { from: options.from } : {}),
        ...(options.to ? { to: options.to } : {}),
      })) {
        events.push(record);
      }
    }
    // Several writers' chains (K83): one trail in time order (stable: each chain keeps its order).
    if (chains.length > 1) events.sort((a, b) => a.time.localeCompare(b.time));
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
        const broken = (await verify(options)).find((verification) => !verification.ok);
        if (broken !== undefined) {
          const log = await logOf(options);
          output.err(
            brokenBanner(
              "writer" in broken ? `${log} (writer ${broken.writer})` : log,
              broken,
              options.allowBroken === true,
            ),
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
