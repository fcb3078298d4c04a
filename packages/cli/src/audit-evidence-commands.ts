import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AuditInclusionProof,
  type AuditVerification,
  CheckpointKey,
  HttpWitnessClient,
  NOT_ANCHORED,
  proveAuditRecord,
  recoverAuditLog,
  verifyAuditProof,
  WRITERS_DIRECTORY,
} from "@agentgate/core/node";
import type { Command } from "commander";
import type { Output } from "./output.js";
import { CliUsageError } from "./usage-error.js";
import { startWitnessServer } from "./witness-server.js";

/** What the audit evidence commands need from the program. */
export interface EvidenceContext {
  /** The AgentGate directory (`--dir`). */
  readonly dir: () => string;
  readonly output: Output;
  readonly fail: (code: number) => void;
}

/** Which chain a command reads: a log directory and, optionally, one writer's chain in it. */
interface ChainOptions {
  readonly log?: string;
  readonly writer?: string;
}

interface WitnessSettings {
  readonly url?: string;
  readonly key?: string;
}

/**
 * `audit.witness` of `<dir>/config.json`, overridden by the command line: the witness to ask
 * and the key its cosignatures must verify with.
 */
export function witnessSettings(dir: string, options: { witness?: string; witnessKey?: string }) {
  let configured: WitnessSettings = {};
  try {
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as {
      audit?: { witness?: WitnessSettings };
    };
    configured = config.audit?.witness ?? {};
  } catch {
    // No config: only the command line counts.
  }
  const url = options.witness ?? configured.url;
  const key = readKeyArgument(options.witnessKey ?? configured.key);
  return {
    ...(url === undefined ? {} : { witness: new HttpWitnessClient(url), url }),
    ...(key === undefined ? {} : { witnessKey: key }),
  };
}

/** A verifier key given inline, or the path of a file that holds one. */
function readKeyArgument(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/^[^+\s]+\+[0-9a-f]{8}\+/.test(value)) return value;
  return readFileSync(value, "utf8").trim();
}

/** What `--allow-unanchored` means, printed whenever it lets a log pass. */
export const ALLOW_UNANCHORED_NOTICE =
  "--allow-unanchored: no witness vouches for this log. What was checked is the hash chain and the writer's own checkpoint; anyone who can write this directory and read the writer's checkpoint key can rewrite both.";

/**
 * Registers `audit prove`, `audit verify-proof`, `audit recover` and `audit key` on the `audit`
 * command (`audit verify` lives in audit-commands.ts and applies the witness options to every
 * chain). `--log` picks another log directory, `--writer` one writer's chain under `writers/`.
 */
export function registerAuditEvidenceCommands(audit: Command, context: EvidenceContext): void {
  const { dir, output, fail } = context;
  const log = (options: ChainOptions = {}) => {
    const base = options.log ?? join(dir(), "audit");
    if (options.writer === undefined) return base;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(options.writer))
      throw new CliUsageError(`--writer ${options.writer}: not a writer id.`);
    return join(base, WRITERS_DIRECTORY, options.writer);
  };
  audit
    .command("prove <seq>")
    .description("an inclusion proof of one event against the latest cosigned checkpoint (JSON)")
    .option("--witness <url>", "the witness to take the latest cosigned checkpoint from")
    .option("--out <file>", "write the proof to a file instead of printing it")
    .option("--log <dir>", "the audit log directory (default <dir>/audit)")
    .option("--writer <id>", "the chain of this writer (under writers/), not the log's own")
    .action(async (seq: string, options: ChainOptions & { witness?: string; out?: string }) => {
      const settings = witnessSettings(dir(), options);
      const proof = await proveAuditRecord(log(options), nonNegativeInteger(seq), {
        ...(settings.witness === undefined ? {} : { witness: settings.witness }),
      });
      const text = `${JSON.stringify(proof, null, 2)}\n`;
      if (options.out === undefined) output.out(text.trimEnd());
      else {
        writeFileSync(options.out, text);
        output.out(
          `proof of record ${proof.index} against ${proof.treeSize} records: ${options.out}`,
        );
      }
    });
  audit
    .command("verify-proof <proof>")
    .description("check an inclusion proof with only the proof, the event and the witness's key")
    .option("--witness-key <vkey>", "the witness's verifier key (or a file holding it)")
    .option("--checkpoint-key <key>", "or the writer's checkpoint public key (not anchored)")
    .option("--record <file>", "the event as you hold it (default: the proof's copy)")
    .option("--json", "print JSON")
    .action(
      (
        file: string,
        options: { witnessKey?: string; checkpointKey?: string; record?: string; json?: boolean },
      ) => {
        const proof = JSON.parse(readFileSync(file, "utf8")) as AuditInclusionProof;
        const witnessKey = readKeyArgument(options.witnessKey);
        const result = verifyAuditProof(proof, {
          ...(witnessKey === undefined ? {} : { witnessKey }),
          ...(options.checkpointKey ? { checkpointKey: options.checkpointKey } : {}),
          ...(options.record ? { record: readFileSync(options.record, "utf8").trim() } : {}),
        });
        if (options.json === true) output.out(JSON.stringify(result, null, 2));
        else
          output.out(
            result.ok
              ? `ok: record ${result.seq} is in the log of ${proof.treeSize} records the ${result.anchored ? "witness cosigned" : "writer signed (not anchored)"}`
              : `INVALID: ${result.reason}`,
          );
        if (!result.ok) fail(1);
      },
    );
  audit
    .command("recover")
    .description(
      "after a cut: keep the old records aside, start a new chain whose first event records what was lost",
    )
    .requiredOption("--reason <text>", "why, in your words (recorded)")
    .option("--witness <url>")
    .option("--witness-key <vkey>")
    .option("--log <dir>", "the audit log directory (default <dir>/audit)")
    .option("--writer <id>", "recover the chain of this writer (under writers/)")
    .option("--json", "print JSON")
    .action(
      async (
        options: ChainOptions & {
          reason: string;
          witness?: string;
          witnessKey?: string;
          json?: boolean;
        },
      ) => {
        const settings = witnessSettings(dir(), options);
        const report = await recoverAuditLog({
          directory: log(options),
          reason: options.reason,
          ...(settings.witness === undefined ? {} : { witness: settings.witness }),
          ...(settings.witnessKey === undefined ? {} : { witnessKey: settings.witnessKey }),
        });
        if (options.json === true) output.out(JSON.stringify(report, null, 2));
        else if (!report.recovered)
          output.out("nothing to recover: the log matches its checkpoints");
        else
          output.out(
            `recovered: ${report.previousOrigin ?? "the old log"} moved to ${report.archived}; the new chain ${report.origin} starts with a log_recovered event (${String(report.found?.problem ?? report.found?.message)})`,
          );
      },
    );
  audit
    .command("key")
    .description("the writer's checkpoint public key, for `agentgate witness --writer-key`")
    .option("--log <dir>", "the audit log directory (default <dir>/audit)")
    .action((options: ChainOptions) =>
      output.out(CheckpointKey.load({ logDirectory: log(options) }).toString()),
    );
}

/** Registers `agentgate witness`: a witness in its own process. */
export function registerWitnessCommand(program: Command, context: EvidenceContext): void {
  const { output } = context;
  program
    .command("witness")
    .description(
      "run a witness: cosigns the writers' checkpoints only when they extend the last one (run it as another user, with its own --state)",
    )
    .requiredOption("--state <dir>", "the witness's own directory (its key and state)")
    .option("--writer-key <key...>", "writers' checkpoint public keys (`agentgate audit key`)")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port (0 picks one)", (value) => Number.parseInt(value, 10), 7380)
    .option("--name <name>", "the witness's name in cosignatures")
    .option("--print-key", "print the witness's verifier key and exit")
    .action(
      async (options: {
        state: string;
        writerKey?: string[];
        host: string;
        port: number;
        name?: string;
        printKey?: boolean;
      }) => {
        const running = await startWitnessServer({
          directory: options.state,
          writerKeys: options.writerKey ?? [],
          host: options.host,
          port: options.printKey ? 0 : options.port,
          ...(options.name === undefined ? {} : { name: options.name }),
        });
        if (options.printKey === true) {
          output.out(running.verifierKey);
          await running.close();
          return;
        }
        output.out(`witness listening on ${running.url}`);
        output.out(`key: ${running.verifierKey}`);
        if ((options.writerKey ?? []).length === 0)
          output.err("agentgate: no --writer-key: every checkpoint will be refused");
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        await running.close();
      },
    );
}

/** A record's sequence number as typed: a whole number ≥ 0, else a usage error (exit 2). */
function nonNegativeInteger(value: string): number {
  const number = /^\d+$/.test(value) ? Number.parseInt(value, 10) : Number.NaN;
  if (!Number.isSafeInteger(number)) throw new CliUsageError(`${value}: not a sequence number.`);
  return number;
}

/** The one-paragraph answer of `audit verify` for one chain. */
export function describeVerification(result: AuditVerification): string {
  if (!result.ok)
    return result.firstBadSeq === undefined
      ? `BROKEN: ${result.reason}`
      : `BROKEN at record ${result.firstBadSeq}: ${result.reason}`;
  const checkpoint = result.checkpoint;
  const lines = [
    `ok: ${result.records} records verify${checkpoint ? ` against the checkpoint of ${checkpoint.size} signed by the ${checkpoint.signedBy}${checkpoint.time ? ` at ${checkpoint.time}` : ""}` : ""}`,
  ];
  if (result.anchored)
    lines.push(
      `anchored: a witness cosigned it; ${result.unanchoredRecords ?? 0} newer records are not covered yet`,
    );
  else lines.push(result.notice ?? NOT_ANCHORED);
  if (result.recovered !== undefined)
    lines.push(
      `recovered after a cut: ${result.recovered.join(", ")} (see the log_recovered events)`,
    );
  return lines.join("\n");
}
