import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { type AgentRecord, parseAgentRecord } from "../identity/agent-record.js";
import type { AgentRegistry } from "../identity/agent-registry.js";
import { writeFileAtomic } from "./atomic-file.js";
import { withFileLock } from "./file-lock.js";
import { FileProbe } from "./file-probe.js";

/** Options of {@link JsonFileAgentRegistry}. */
export interface JsonFileAgentRegistryOptions {
  /** Time source for reloads. Default: the system clock. */
  readonly clock?: Clock;
  /** How often, at most, to look for changes made by other processes (default 250 ms). */
  readonly refreshMs?: number;
}

/**
 * An {@link AgentRegistry} in one JSON file (default `.agentgate/agents.json`), written
 * atomically (temporary file + rename) under a lock file, so several processes (a CLI and a
 * running gate) can share it. Changes by other processes are seen within `refreshMs`. Every
 * record is validated when read; a corrupt file rejects with `registry_unavailable`.
 */
export class JsonFileAgentRegistry implements AgentRegistry {
  #records = new Map<string, AgentRecord>();
  readonly #probe: FileProbe;

  constructor(
    readonly path: string = join(".agentgate", "agents.json"),
    options: JsonFileAgentRegistryOptions = {},
  ) {
    this.#probe = new FileProbe(path, options.refreshMs ?? 250, options.clock ?? systemClock);
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    this.#refresh();
    return this.#records.get(id);
  }

  async list(): Promise<readonly AgentRecord[]> {
    this.#refresh();
    return [...this.#records.values()];
  }

  async put(record: AgentRecord): Promise<void> {
    const valid = parseAgentRecord(record);
    await this.#update((records) => {
      records.set(valid.id, valid);
    });
  }

  async remove(id: string): Promise<boolean> {
    let removed = false;
    await this.#update((records) => {
      removed = records.delete(id);
    });
    return removed;
  }

  async #update(change: (records: Map<string, AgentRecord>) => void): Promise<void> {
    await withFileLock(this.path, () => {
      const records = this.#read();
      change(records);
      const document = { version: 1, agents: [...records.values()] };
      writeFileAtomic(this.path, `${JSON.stringify(document, null, 2)}\n`, 0o600);
      this.#records = records;
      this.#probe.reset();
      this.#probe.changed();
    });
  }

  #refresh(): void {
    if (this.#probe.changed()) this.#records = this.#read();
  }

  #read(): Map<string, AgentRecord> {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
      throw this.#unavailable((error as NodeJS.ErrnoException).code ?? "unreadable");
    }
    try {
      const document = JSON.parse(text) as { version?: unknown; agents?: unknown };
      if (document.version !== 1 || !Array.isArray(document.agents)) throw new Error("bad shape");
      return new Map(
        document.agents.map((entry) => {
          const record = parseAgentRecord(entry);
          return [record.id, record];
        }),
      );
    } catch (error) {
      this.#probe.reset();
      const reason = error instanceof AgentGateError ? error.message : "not a registry document";
      throw this.#unavailable(reason);
    }
  }

  #unavailable(reason: string): AgentGateError {
    return new AgentGateError("registry_unavailable", `Agent registry ${this.path}: ${reason}`);
  }
}
