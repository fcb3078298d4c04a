import { randomUUID } from "node:crypto";
import {
  AgentGateError,
  type ApprovalAnswer,
  type ApprovalProvider,
  type ApprovalRequest,
} from "@agentgate/core";
import type pg from "pg";
import { refuseNul, unavailable } from "./database.js";
import type { Listener } from "./listener.js";

/** A pending approval as an approver lists it. */
export interface PendingApproval {
  /** The approval's id: what `answer` takes. */
  readonly id: string;
  readonly request: ApprovalRequest;
  /** ISO 8601 time it was asked. */
  readonly createdAt: string;
}

/**
 * An {@link ApprovalProvider} whose requests wait in the `approvals` table: a pending approval
 * survives a restart of the gate that asked, and any host (another gate, `agentgate serve`, a
 * script) lists and answers it with {@link PostgresApprovalQueue.pending} and
 * {@link PostgresApprovalQueue.answer}. The waiting gate learns of the answer by NOTIFY (and a
 * 1 s poll while the notification connection is down). The gate's approval timeout still bounds
 * the wait: no answer in time is a denial, and the row stays pending for the record.
 */
export class PostgresApprovalQueue implements ApprovalProvider {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #waiting = new Map<string, () => void>();

  /** @internal Built by `openPostgresStores`. */
  constructor(pool: pg.Pool, schema: string, listener?: Listener) {
    this.#pool = pool;
    this.#schema = schema;
    listener?.subscribe({
      notify: (table, id) => {
        if (table === "approvals") this.#waiting.get(id)?.();
      },
      connected: async () => {
        for (const wake of this.#waiting.values()) wake();
      },
      lost: () => undefined,
    });
  }

  async requestApproval(
    request: ApprovalRequest,
    options: { signal: AbortSignal },
  ): Promise<ApprovalAnswer> {
    const id = randomUUID();
    const json = JSON.stringify(request);
    refuseNul("approval_denied", "The approval request", json);
    try {
      await this.#pool.query(
        `insert into ${this.#schema}.approvals (id, request) values ($1, $2::jsonb)`,
        [id, json],
      );
    } catch (error) {
      throw unavailable("approval_denied", "Queueing the approval", error);
    }
    try {
      for (;;) {
        if (options.signal.aborted)
          throw new AgentGateError("approval_denied", "No answer in time.");
        const answer = await this.#read(id);
        if (answer !== undefined) return answer;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            options.signal.removeEventListener("abort", done);
            this.#waiting.delete(id);
            resolve();
          };
          const timer = setTimeout(done, 1000);
          this.#waiting.set(id, done);
          options.signal.addEventListener("abort", done, { once: true });
        });
      }
    } finally {
      this.#waiting.delete(id);
    }
  }

  /** Every approval still pending, oldest first. */
  async pending(): Promise<PendingApproval[]> {
    const rows = await this.#pool.query<{ id: string; request: ApprovalRequest; created_at: Date }>(
      `select id, request, created_at from ${this.#schema}.approvals where status = 'pending' order by created_at, id`,
    );
    return rows.rows.map((row) => ({
      id: row.id,
      request: row.request,
      createdAt: row.created_at.toISOString(),
    }));
  }

  /**
   * Answers a pending approval; resolves `false` when there is none under `id` (unknown, or
   * answered already: the first answer wins).
   */
  async answer(id: string, answer: ApprovalAnswer): Promise<boolean> {
    if (id.includes("\u0000")) return false;
    const json = JSON.stringify({
      approved: answer.approved === true,
      approver: String(answer.approver),
      ...(answer.reason === undefined ? {} : { reason: String(answer.reason) }),
    });
    refuseNul("invalid_configuration", "The approval answer", json);
    const result = await this.#pool.query(
      `update ${this.#schema}.approvals set status = $2, answer = $3::jsonb, answered_at = now()
       where id = $1 and status = 'pending'`,
      [id, answer.approved === true ? "approved" : "denied", json],
    );
    return (result.rowCount ?? 0) === 1;
  }

  async #read(id: string): Promise<ApprovalAnswer | undefined> {
    let rows: { status: string; answer: ApprovalAnswer | null }[];
    try {
      rows = (
        await this.#pool.query<{ status: string; answer: ApprovalAnswer | null }>(
          `select status, answer from ${this.#schema}.approvals where id = $1`,
          [id],
        )
      ).rows;
    } catch {
      return undefined; // The database is away: keep waiting until it is back or time runs out.
    }
    const row = rows[0];
    if (row === undefined || row.status === "pending" || row.answer === null) return undefined;
    return { ...row.answer, approved: row.status === "approved" && row.answer.approved === true };
  }
}
