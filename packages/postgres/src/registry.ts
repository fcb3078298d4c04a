import {
  AgentGateError,
  type AgentRecord,
  type AgentRegistry,
  parseAgentRecord,
} from "@agentgate/core";
import type pg from "pg";
import { refuseNul, unavailable } from "./database.js";
import type { Listener } from "./listener.js";

/**
 * An {@link AgentRegistry} in the `agents` table, shared by every host. Records are validated on
 * the way in and out; reads are served from memory, reloaded whenever a NOTIFY says the table
 * changed (any host, any writer). While the listening connection is down every read rejects
 * with `registry_unavailable` (fail closed), and it is reloaded before serving again.
 */
export class PostgresAgentRegistry implements AgentRegistry {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #listener: Listener;
  #records = new Map<string, AgentRecord>();
  #loaded = false;
  #generation = 0;

  /** @internal Built by `openPostgresStores`. */
  constructor(pool: pg.Pool, schema: string, listener: Listener) {
    this.#pool = pool;
    this.#schema = schema;
    this.#listener = listener;
    listener.subscribe({
      notify: (table) => {
        if (table === "agents") void this.#reload().catch(() => undefined);
      },
      connected: () => this.#reload(),
      lost: () => {
        this.#loaded = false;
      },
    });
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    this.#check();
    return this.#records.get(id);
  }

  async list(): Promise<readonly AgentRecord[]> {
    this.#check();
    return [...this.#records.values()];
  }

  async put(record: AgentRecord): Promise<void> {
    const valid = parseAgentRecord(record);
    const json = JSON.stringify(valid);
    refuseNul("invalid_agent_record", "The agent record", json);
    try {
      await this.#pool.query(
        `insert into ${this.#schema}.agents (id, record) values ($1, $2::jsonb)
         on conflict (id) do update set record = excluded.record`,
        [valid.id, json],
      );
    } catch (error) {
      throw unavailable("registry_unavailable", "Storing an agent record", error);
    }
    // Read-your-writes in this process, before the NOTIFY comes back.
    this.#records.set(valid.id, valid);
  }

  async remove(id: string): Promise<boolean> {
    if (id.includes("\u0000")) return false;
    let removed: boolean;
    try {
      const result = await this.#pool.query(`delete from ${this.#schema}.agents where id = $1`, [
        id,
      ]);
      removed = (result.rowCount ?? 0) > 0;
    } catch (error) {
      throw unavailable("registry_unavailable", "Removing an agent record", error);
    }
    this.#records.delete(id);
    return removed;
  }

  #check(): void {
    if (!this.#loaded || !this.#listener.up) {
      throw new AgentGateError(
        "registry_unavailable",
        "The agent registry's database connection is down: every call is denied until it is back.",
        { cause: this.#listener.lastError },
      );
    }
  }

  /** Reads the whole table; a reload that started earlier never overwrites a later one. */
  async #reload(): Promise<void> {
    const generation = ++this.#generation;
    const result = await this.#pool.query<{ record: unknown }>(
      `select record from ${this.#schema}.agents order by position`,
    );
    if (generation !== this.#generation) return;
    const records = new Map<string, AgentRecord>();
    for (const row of result.rows) {
      try {
        const record = parseAgentRecord(row.record);
        records.set(record.id, record);
      } catch {
        // A row written around AgentGate that is not a valid record: it authorises nothing.
      }
    }
    this.#records = records;
    this.#loaded = true;
  }
}
