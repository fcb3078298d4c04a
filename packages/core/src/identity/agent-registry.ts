import { type AgentRecord, parseAgentRecord } from "./agent-record.js";

/**
 * The port for where agent records live. The embedded defaults are {@link MemoryAgentRegistry}
 * and, in `@agentgate/core/node`, `JsonFileAgentRegistry`.
 *
 * Implementations validate what they store and read, and reject on failure with an
 * `AgentGateError` (`registry_unavailable`); callers treat a failure as a denial.
 */
export interface AgentRegistry {
  /** The record for `id` (canonical agent id string), or `undefined` when none is registered. */
  get(id: string): Promise<AgentRecord | undefined>;
  /** Every record, in registration order. */
  list(): Promise<readonly AgentRecord[]>;
  /** Creates or replaces the record with the same id. */
  put(record: AgentRecord): Promise<void>;
  /** Removes a record; resolves `true` when one was removed. */
  remove(id: string): Promise<boolean>;
}

/** An {@link AgentRegistry} held in memory: for tests, demos and short-lived processes. */
export class MemoryAgentRegistry implements AgentRegistry {
  readonly #records = new Map<string, AgentRecord>();

  constructor(records: Iterable<AgentRecord> = []) {
    for (const record of records) this.#records.set(record.id, parseAgentRecord(record));
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    return this.#records.get(id);
  }

  async list(): Promise<readonly AgentRecord[]> {
    return [...this.#records.values()];
  }

  async put(record: AgentRecord): Promise<void> {
    const valid = parseAgentRecord(record);
    this.#records.set(valid.id, valid);
  }

  async remove(id: string): Promise<boolean> {
    return this.#records.delete(id);
  }
}
