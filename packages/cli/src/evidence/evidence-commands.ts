import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cosignedPath, defaultCheckpointPath } from "@agentgate/core/node";
import { type Command, Option } from "commander";
import { instant } from "../input.js";
import type { CommandContext } from "../program.js";
import type { Framework } from "./controls.js";
import { evidencePackHtml } from "./evidence-pack.js";
import {
  directorySettings,
  logDirectory,
  type VerificationFlags,
  verificationOptions,
  withVerificationFlags,
} from "./log-options.js";
import { printPdf } from "./pdf.js";
import { readVerifiedLog } from "./verified-log.js";

/** A checkpoint file's text, when there is one. */
function readOptional(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/**
 * Registers `audit evidence` on the `audit` command: an HTML evidence pack (and a PDF) of a
 * verified log for SOC 2, ISO/IEC 27001:2022 or HIPAA. A log that does not verify produces
 * nothing (`audit_unverified`, exit 1).
 */
export function registerEvidencePackCommand(audit: Command, context: CommandContext): void {
  const { dir, output } = context;
  withVerificationFlags(
    audit
      .command("evidence")
      .description(
        "an HTML (and PDF) evidence pack of a verified log: inventory, access changes, denials, approvals, revocations, integrity, mapped to controls",
      )
      .addOption(
        new Option("--framework <name>")
          .choices(["soc2", "iso27001", "hipaa"])
          .makeOptionMandatory(),
      )
      .requiredOption("--out <file>", "the HTML file to write")
      .option("--pdf <file>", "also print it to this PDF (headless Chromium)")
      .option("--log <dir>", "the audit log directory (default <dir>/audit)")
      .option("--from <iso>", "from this date or instant (ISO 8601, inclusive)", instant)
      .option("--to <iso>", "up to this date or instant (ISO 8601, exclusive)", instant),
  ).action(
    async (
      options: VerificationFlags & {
        framework: Framework;
        out: string;
        pdf?: string;
        log?: string;
        from?: string;
        to?: string;
      },
    ) => {
      // With --log an auditor's copy needs no AgentGate directory; without it the directory must
      // exist (exit 3), so a missing log never reads as an empty pack.
      const space = options.log === undefined ? await context.workspace() : undefined;
      const log = space?.audit ?? logDirectory("--log", options.log as string);
      const verified = await readVerifiedLog(log, {
        ...verificationOptions(dir(), options),
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.to === undefined ? {} : { to: options.to }),
      });
      const settings = await directorySettings(dir());
      // Revoked now: the directory's revocation list when there is one, else the log's revocations.
      const revoked = new Set(
        verified.records
          .filter((record) => record.type === "revocation")
          .map((record) => record.agent),
      );
      const checkpoints: Record<string, string | undefined> = {};
      for (const chain of verified.chains) {
        const path =
          chain.writer === "primary" && options.checkpoint !== undefined
            ? options.checkpoint
            : defaultCheckpointPath(chain.chain);
        checkpoints[chain.writer] = chain.anchored
          ? (readOptional(cosignedPath(path)) ?? readOptional(path))
          : readOptional(path);
      }
      const html = evidencePackHtml({
        framework: options.framework,
        log,
        verified,
        agents: settings.agents,
        revoked: (agent) =>
          revoked.has(agent) || space?.revocations.isRevoked("agent", agent) === true,
        checkpoints,
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.to === undefined ? {} : { to: options.to }),
        generatedAt: new Date().toISOString(),
      });
      writeFileSync(options.out, html);
      output.out(
        `evidence pack (${options.framework}, ${verified.records.length} verified records): ${options.out}`,
      );
      if (options.pdf !== undefined) {
        await printPdf(html, options.pdf);
        output.out(`PDF: ${options.pdf}`);
      }
    },
  );
}
