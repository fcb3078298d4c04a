import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentRecord } from "@agentgate/core";
import { JsonFileAgentRegistry } from "@agentgate/core/node";
import type { Command } from "commander";
import { witnessSettings } from "../audit-evidence-commands.js";
import { CliUsageError } from "../usage-error.js";
import type { VerifiedLogOptions } from "./verified-log.js";

/** The verification flags of the commands that read a verified log. */
export interface VerificationFlags {
  witness?: string;
  witnessKey?: string;
  allowUnanchored?: boolean;
  checkpoint?: string;
  checkpointKey?: string;
}

/** Adds the flags `audit verify` takes: how the log is checked before anything is read. */
export function withVerificationFlags(command: Command): Command {
  return command
    .option("--witness <url>", "the witness to ask for each chain's latest cosigned checkpoint")
    .option("--witness-key <vkey>", "the witness's verifier key (or a file holding it)")
    .option("--allow-unanchored", "with a witness key: accept chains no witness has cosigned")
    .option("--checkpoint <path>", "the writer's checkpoint file of the log's own chain")
    .option(
      "--checkpoint-key <key>",
      "verify the writers' checkpoints with this pinned public key (file or base64url)",
    );
}

/** The options of `readVerifiedLog` for these flags, with config.json's witness as default. */
export function verificationOptions(dir: string, flags: VerificationFlags): VerifiedLogOptions {
  const settings = witnessSettings(dir, flags);
  return {
    ...(settings.witness === undefined ? {} : { witness: settings.witness }),
    ...(settings.witnessKey === undefined ? {} : { witnessKey: settings.witnessKey }),
    ...(flags.allowUnanchored === true ? { allowUnanchored: true } : {}),
    ...(flags.checkpointKey === undefined ? {} : { checkpointKey: flags.checkpointKey }),
    ...(flags.checkpoint === undefined ? {} : { checkpointPath: flags.checkpoint }),
  };
}

/** An audit log directory named on the command line; exit 2 when there is none. */
export function logDirectory(flag: string, path: string): string {
  if (!existsSync(path)) throw new CliUsageError(`${flag} ${path}: no audit log there.`);
  return path;
}

/** What the AgentGate directory says, when there is one: time zone, environment, agents. */
export interface DirectorySettings {
  readonly timeZone: string;
  readonly environment: string;
  readonly agents: readonly AgentRecord[];
}

/**
 * The settings of `<dir>` as a gate used them (config.json's `timeZone` and `environment`, the
 * registry). A copy of a log handed to an auditor comes without them: UTC, `development`, none.
 */
export async function directorySettings(dir: string): Promise<DirectorySettings> {
  let config: { timeZone?: unknown; environment?: unknown } = {};
  try {
    config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as typeof config;
  } catch {
    // No directory: the defaults of a gate.
  }
  const registryPath = join(dir, "agents.json");
  const agents = existsSync(registryPath)
    ? await new JsonFileAgentRegistry(registryPath).list()
    : [];
  return {
    timeZone: typeof config.timeZone === "string" ? config.timeZone : "UTC",
    environment: typeof config.environment === "string" ? config.environment : "development",
    agents,
  };
}
