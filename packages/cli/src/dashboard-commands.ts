import { existsSync, readFileSync } from "node:fs";
import { CedarPolicyClient } from "@agentgate/cedar";
import type { PolicyClient } from "@agentgate/core";
import type { Command } from "commander";
import { witnessSettings } from "./audit-evidence-commands.js";
import { startDashboard } from "./dashboard/dashboard-server.js";
import { positiveInteger } from "./input.js";
import { leastPrivilegeFindings, readVerifiedLog } from "./insights/index.js";
import { table } from "./output.js";
import type { CommandContext } from "./program.js";
import { CliUsageError } from "./usage-error.js";

interface InsightOptions {
  log?: string;
  policies?: string;
  dormantDays: number;
  owners?: string;
  witness?: string;
  witnessKey?: string;
}

/** The known owners of `--owners <file>`: a JSON array of strings, or one owner a line. */
function knownOwners(file: string | undefined): ReadonlySet<string> | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new CliUsageError(`--owners ${file}: cannot read it.`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    const parsed: unknown = JSON.parse(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((value) => typeof value === "string"))
      throw new CliUsageError(`--owners ${file}: expected a JSON array of strings.`);
    return new Set(parsed);
  }
  return new Set(
    trimmed
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#")),
  );
}

const withInsightOptions = (command: Command) =>
  command
    .option("--log <dir>", "the audit log directory (default <dir>/audit)")
    .option("--policies <dir>", "the Cedar policies to ask (default <dir>/policies)")
    .option(
      "--dormant-days <days>",
      "an agent without a call this long is dormant",
      positiveInteger,
      30,
    )
    .option(
      "--owners <file>",
      "the people and teams that may own agents (JSON array, or one a line)",
    )
    .option("--witness <url>", "the witness to ask for each chain's latest cosigned checkpoint")
    .option("--witness-key <vkey>", "the witness's verifier key (or a file holding it)");

/**
 * `agentgate dashboard` (the read-only web dashboard on 127.0.0.1) and `agentgate audit
 * findings` (the least-privilege findings, in the terminal).
 */
export function registerDashboardCommands(program: Command, context: CommandContext): void {
  const { dir, workspace, output, print, fail } = context;
  const logOf = (log: string | undefined, fallback: string) => {
    if (log !== undefined && !existsSync(log))
      throw new CliUsageError(`--log ${log}: no audit log there.`);
    return log ?? fallback;
  };

  withInsightOptions(
    program
      .command("dashboard")
      .description(
        "a read-only web dashboard on 127.0.0.1: inventory, activity, denials, least privilege, integrity",
      ),
  )
    .option("--host <host>", "loopback address to bind", "127.0.0.1")
    .option(
      "--port <port>",
      "port (0 picks a free one)",
      (value) => Number.parseInt(value, 10),
      8788,
    )
    .action(async (options: InsightOptions & { host: string; port: number }) => {
      const space = await workspace();
      const owners = knownOwners(options.owners);
      const adminToken = process.env.AGENTGATE_ADMIN_TOKEN;
      const dashboard = await startDashboard({
        workspace: space,
        host: options.host,
        port: options.port,
        audit: logOf(options.log, space.audit),
        dormantDays: options.dormantDays,
        ...(options.policies === undefined ? {} : { policies: options.policies }),
        ...(owners === undefined ? {} : { knownOwners: owners }),
        ...(adminToken ? { adminToken } : {}),
        ...(options.witness === undefined ? {} : { witness: options.witness }),
        ...(options.witnessKey === undefined ? {} : { witnessKey: options.witnessKey }),
      });
      output.out(`AgentGate dashboard on ${dashboard.url} (read-only; Ctrl-C stops it).`);
      output.out(`Open this one-time login link (valid 10 minutes): ${dashboard.loginUrl()}`);
      if (adminToken)
        output.out("Or type the admin token (AGENTGATE_ADMIN_TOKEN) at its login page.");
      if (!dashboard.policiesAsked)
        output.err(
          "agentgate: the Cedar policies do not load: the findings cannot say which tools they permit.",
        );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await dashboard.close();
    });

  const audit = program.commands.find((command) => command.name() === "audit");
  if (audit === undefined) return;
  withInsightOptions(
    audit
      .command("findings")
      .description(
        "verify the log, then least-privilege findings: unused scopes and permitted tools, dormant agents, unknown owners, rubber-stamp approvals",
      ),
  )
    .option("--allow-broken", "show findings from the verified part of a log that does not verify")
    .option("--json", "print JSON")
    .action(async (options: InsightOptions & { allowBroken?: boolean; json?: boolean }) => {
      const space = await workspace();
      const settings = witnessSettings(dir(), options);
      const log = await readVerifiedLog(logOf(options.log, space.audit), {
        ...(settings.witness === undefined ? {} : { witness: settings.witness }),
        ...(settings.witnessKey === undefined ? {} : { witnessKey: settings.witnessKey }),
      });
      const broken = log.chains.find((chain) => !chain.ok);
      if (broken !== undefined) {
        output.err(
          `agentgate: BROKEN AUDIT LOG (writer ${broken.writer}) at record ${broken.firstBadSeq ?? "?"}: ${broken.reason ?? "does not verify"}${options.allowBroken === true ? "; findings below are from the records before it" : "; no findings (--allow-broken shows those of the verified part)"}`,
        );
        fail(1);
        if (options.allowBroken !== true) return;
      }
      let policy: PolicyClient | undefined;
      try {
        policy = CedarPolicyClient.fromDirectory(options.policies ?? space.policies);
      } catch (error) {
        output.err(
          `agentgate: the Cedar policies do not load (${error instanceof Error ? error.message : String(error)}): permitted-but-unused tools are not looked for.`,
        );
      }
      const owners = knownOwners(options.owners);
      try {
        const findings = await leastPrivilegeFindings(log.records, await space.registry.list(), {
          ...(policy === undefined ? {} : { policy }),
          settings: {
            timeZone: space.config.timeZone ?? "UTC",
            environment: space.config.environment ?? "development",
          },
          dormantDays: options.dormantDays,
          ...(owners === undefined ? {} : { knownOwners: owners }),
          revoked: (agent) => space.revocations.isRevoked("agent", agent),
        });
        print(options.json === true, findings, () =>
          findings.length === 0
            ? "No least-privilege findings."
            : table(findings as unknown as Record<string, unknown>[], [
                "severity",
                "kind",
                "agent",
                "summary",
                "suggestion",
              ]),
        );
      } finally {
        await policy?.close?.();
      }
    });
}
