import {
  migrate,
  openApprovalQueue,
  SCHEMA_VERSION,
  verifyPostgresAudit,
} from "@agentgate/postgres";
import type { Command } from "commander";
import type { Output } from "./output.js";
import { CliUsageError } from "./usage-error.js";

interface DbOptions {
  database?: string;
  schema: string;
}

function databaseOf(options: DbOptions): string {
  const url = options.database ?? process.env.DATABASE_URL;
  if (url === undefined || url === "")
    throw new CliUsageError("db commands need --database postgres://… (or DATABASE_URL).");
  return url;
}

function withDatabase(command: Command): Command {
  return command
    .option("--database <url>", "PostgreSQL connection string (default: DATABASE_URL)")
    .option("--schema <name>", "the PostgreSQL schema of the tables", "agentgate");
}

/**
 * `agentgate db …` on a PostgreSQL database: `migrate` creates or upgrades AgentGate's tables,
 * `verify` checks every audit chain, `approvals` lists pending approvals and `approve`/`deny`
 * answers one (the waiting gate, on any host, learns of it at once).
 */
export function registerDbCommands(
  program: Command,
  output: Output,
  fail: (code: number) => void,
): void {
  const db = program.command("db").description("AgentGate's tables in PostgreSQL");
  withDatabase(
    db
      .command("migrate")
      .description(`create or upgrade AgentGate's tables (schema version ${SCHEMA_VERSION})`),
  ).action(async (options: DbOptions) => {
    const report = await migrate(databaseOf(options), { schema: options.schema });
    output.out(
      report.applied.length === 0
        ? `Schema "${report.schema}" is at version ${report.to}: nothing to do.`
        : `Schema "${report.schema}" migrated from version ${report.from} to ${report.to} (applied ${report.applied.join(", ")}).`,
    );
  });
  withDatabase(
    db
      .command("verify")
      .description("verify every audit chain in the database")
      .option(
        "--witness-key <vkey>",
        "the witness's verifier key: cosigned checkpoints are checked",
      ),
  ).action(async (options: DbOptions & { witnessKey?: string }) => {
    const chains = await verifyPostgresAudit(databaseOf(options), {
      schema: options.schema,
      ...(options.witnessKey === undefined ? {} : { witnessKey: options.witnessKey }),
    });
    for (const chain of chains) {
      output.out(
        `${chain.ok ? "ok  " : "FAIL"} ${chain.writer}: ${chain.records} records, ${chain.checkpoints} checkpoints${chain.anchoredSize > 0 ? `, ${chain.anchoredSize} anchored` : ""}${chain.ok ? "" : `: ${chain.problems.slice(0, 3).join("; ")}`}`,
      );
    }
    if (chains.some((chain) => !chain.ok)) fail(1);
  });
  withDatabase(db.command("approvals").description("list pending approvals")).action(
    async (options: DbOptions) => {
      const queue = await openApprovalQueue(databaseOf(options), { schema: options.schema });
      try {
        const pending = await queue.pending();
        if (pending.length === 0) output.out("No pending approvals.");
        for (const item of pending) {
          output.out(
            `${item.id}  ${item.createdAt}  ${item.request.agent} → ${item.request.tool} (${item.request.reason})`,
          );
        }
      } finally {
        await queue.close();
      }
    },
  );
  for (const verb of ["approve", "deny"] as const) {
    withDatabase(
      db
        .command(`${verb} <id>`)
        .description(`${verb} a pending approval`)
        .requiredOption("--approver <name>", "who answers (recorded in the audit log)")
        .option("--reason <text>", "why"),
    ).action(async (id: string, options: DbOptions & { approver: string; reason?: string }) => {
      const queue = await openApprovalQueue(databaseOf(options), { schema: options.schema });
      try {
        const answered = await queue.answer(id, {
          approved: verb === "approve",
          approver: options.approver,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
        });
        if (answered) output.out(`${verb === "approve" ? "Approved" : "Denied"} ${id}.`);
        else {
          output.err(`No pending approval ${id} (unknown, or answered already).`);
          fail(1);
        }
      } finally {
        await queue.close();
      }
    });
  }
}
