import { existsSync } from "node:fs";
import {
  type AuditChainVerification,
  type AuditVerification,
  auditChains,
  readAuditLog,
  verifyAuditChains,
} from "@agentgate/core/node";
import { type Command, Option } from "commander";
import {
  ALLOW_UNANCHORED_NOTICE,
  describeVerification,
  registerAuditEvidenceCommands,
  witnessSettings,
} from "./audit-evidence-commands.js";
import { registerEvidencePackCommand } from "./evidence/evidence-commands.js";
import { instant, positiveInteger } from "./input.js";
import { csv, table } from "./output.js";
import type { CommandContext } from "./program.js";
import { accessReport } from "./report.js";
import { CliUsageError } from "./usage-error.js";

/** Options every audit command takes: which log. */
interface LogOptions {
  /** The log directory; default `<dir>/audit`. */
  log?: string;
  /** A pinned checkpoint public key (a key file or base64url), instead of the writer's own. */
  checkpointKey?: string;
  /** The writer's checkpoint file of the log's own chain (default: beside the writer's key). */
  checkpoint?: string;
}

/** How the chains are anchored: the witness options of `audit verify` (SECURITY.md K77–K79). */
interface AnchorOptions extends LogOptions {
  /** The witness to ask for each chain's latest cosigned checkpoint. */
  witness?: string;
  /** The witness's verifier key (or a file holding it). */
  witnessKey?: string;
  /** Accept chains no witness has cosigned (said loudly). */
  allowUnanchored?: boolean;
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

/**
 * `agentgate audit verify|query|tail|export|report`, and (from audit-evidence-commands.ts)
 * `audit prove|verify-proof|recover|key`.
 */
export function registerAuditCommands(program: Command, context: CommandContext): void {
  const { dir, workspace, output, print, fail } = context;
  // A log given with --log needs no AgentGate directory: an auditor verifies a copy. Without
  // --log the directory must exist (exit 3 otherwise): a missing log never reads as "0 records".
  const logOf = async (options: LogOptions): Promise<string> => {
    if (options.log === undefined) return (await workspace()).audit;
    if (!existsSync(options.log))
      throw new CliUsageError(`--log ${options.log}: no audit log there.`);
    return options.log;
  };
  // Every chain of the log (K83): the log's own first, then each writer's. Each is checked
  // against its own checkpoints and, with a witness key (the command line's or config.json's
  // `audit.witness`), against the latest checkpoint the witness cosigned for that chain's log
  // id (SECURITY.md K77–K79). A pinned checkpoint key applies to every chain: one host's writers
  // share the checkpoint key, which lives outside the log directory (K78).
  const verify = async (options: AnchorOptions): Promise<VerifiedChains> => {
    const settings = witnessSettings(dir(), options);
    const [own, ...writers] = await verifyAuditChains(await logOf(options), {
      ...(settings.witness === undefined ? {} : { witness: settings.witness }),
      ...(settings.witnessKey === undefined ? {} : { witnessKey: settings.witnessKey }),
      ...(options.allowUnanchored === true ? { allowUnanchored: true } : {}),
      ...(options.checkpointKey === undefined ? {} : { checkpointKey: options.checkpointKey }),
      ...(options.checkpoint === undefined ? {} : { checkpointPath: options.checkpoint }),
    });
    const { writer: _primary, chain: _chain, ...result } = own as AuditChainVerification;
    return [result, ...writers.map(({ chain: _writerChain, ...writer }) => writer)];
  };
  const withLog = (command: Command) =>
    command
      .option("--log <dir>", "the audit log directory (default <dir>/audit)")
      .option("--checkpoint <path>", "the writer's checkpoint file of the log's own chain")
      .option(
        "--checkpoint-key <key>",
        "verify the writers' checkpoints with this pinned public key (file or base64url), not the local one",
      );
  const audit = program.command("audit").description("the audit log");
  registerAuditEvidenceCommands(audit, { dir, output, fail });
  registerEvidencePackCommand(audit, context);

  withLog(
    audit
      .command("verify")
      .description(
        "check every chain: each record's hash, the chain, the Merkle root against the writer's checkpoint and the witness's latest cosigned one; exit 1 when broken",
      ),
  )
    .option("--witness <url>", "the witness to ask for each chain's latest cosigned checkpoint")
    .option("--witness-key <vkey>", "the witness's verifier key (or a file holding it)")
    .option("--allow-unanchored", "accept chains no witness has cosigned (says what that means)")
    .option("--json", "print JSON")
    .action(async (options: AnchorOptions & { json?: boolean }) => {
      const [result, ...writers] = await verify(options);
      const shown = writers.length === 0 ? result : { ...result, writers };
      print(options.json === true, shown, () =>
        [
          describeVerification(result),
          ...writers.map((chain) => `writer ${chain.writer}: ${describeVerification(chain)}`),
        ].join("\n"),
      );
      const all = [result, ...writers];
      if (
        options.allowUnanchored === true &&
        all.some((verified) => verified.ok && !verified.anchored)
      )
        output.err(`agentgate: ${ALLOW_UNANCHORED_NOTICE}`);
      if (!all.every((verified) => verified.ok)) fail(1);
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
