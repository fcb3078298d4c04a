import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { AgentGateError } from "@agentgate/core";
import {
  migrate,
  openApprovalQueue,
  type PendingApproval,
  type PostgresApprovalQueue,
  PostgresAuditLog,
  SCHEMA_VERSION,
  verifyPostgresAudit,
} from "@agentgate/postgres";
import type { Command } from "commander";
import { osUser, recordThenApply } from "./audited-change.js";
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
        .description(
          `${verb} a pending approval (recorded first, in an audit chain of its own, with the OS user)`,
        )
        .requiredOption("--approver <name>", "who answers (recorded in the audit log)")
        .option("--reason <text>", "why"),
    ).action(async (id: string, options: DbOptions & { approver: string; reason?: string }) => {
      const url = databaseOf(options);
      const queue = await openApprovalQueue(url, { schema: options.schema });
      try {
        const item = (await queue.pending()).find((pending) => pending.id === id);
        if (item === undefined) {
          output.err(`No pending approval ${id} (unknown, or answered already).`);
          fail(1);
          return;
        }
        await answerAudited(url, options.schema, queue, item, {
          approved: verb === "approve",
          approver: options.approver,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
        });
        output.out(`${verb === "approve" ? "Approved" : "Denied"} ${id}.`);
      } finally {
        await queue.close();
      }
    });
  }
}

/**
 * Answers `item` event-first (SECURITY.md K83): an `approval` event (the OS user as actor; the
 * approval's id, agent, principal, tool; the decision, approver and reason) is written to an
 * audit chain of this process's own in the database, and only once it is stored is the answer
 * given. When the chain cannot be opened or the event written, this rejects with
 * `audit_unavailable` and the approval stays pending. An approval answered meanwhile by someone
 * else (the first answer wins) rejects too, after a linked `outcome` event says so.
 */
async function answerAudited(
  url: string,
  schema: string,
  queue: Pick<PostgresApprovalQueue, "answer">,
  item: PendingApproval,
  answer: { readonly approved: boolean; readonly approver: string; readonly reason?: string },
): Promise<void> {
  const audit = await PostgresAuditLog.open(
    { connectionString: url, connectionTimeoutMillis: 5_000 },
    schema,
    { writerId: cliWriterId() },
  );
  try {
    const { request } = item;
    await recordThenApply(
      audit,
      osUser(),
      {
        type: "approval",
        // The request is the database's row: held to the event's field sizes.
        agent: text(request.agent),
        fields: {
          principal: text(request.principal),
          tool: { name: text(request.tool) },
          action: text(request.action),
          approval: {
            approved: answer.approved,
            approver: answer.approver.slice(0, 256),
            ...(answer.reason === undefined ? {} : { reason: answer.reason.slice(0, 1024) }),
          },
        },
        details: {
          approvalId: item.id,
          // The tool call's invocation, as the waiting gate's own events name it.
          callInvocationId: text(request.invocationId),
          approvalReason: text(request.reason),
        },
      },
      async () => {
        if (!(await queue.answer(item.id, answer))) {
          throw new AgentGateError(
            "approval_denied",
            `Approval ${item.id} was answered meanwhile by someone else: this answer was not given.`,
          );
        }
      },
    );
  } finally {
    await audit.close();
  }
}

function text(value: unknown): string {
  return String(value).slice(0, 256);
}

/** A chain of this process's own: `cli-<host>-<random>` (at most 64 characters). */
function cliWriterId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .slice(0, 40) || "host";
  return `cli-${host}-${randomBytes(6).toString("hex")}`;
}
