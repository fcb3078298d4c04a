import { appendFileSync, closeSync, mkdirSync, openSync, readSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Clock, systemClock } from "../clock.js";
import {
  createRevocation,
  type Revocation,
  RevocationIndex,
  type RevocationKind,
  type RevocationList,
} from "../identity/revocation-list.js";
import { FileProbe } from "./file-probe.js";

/** Options of {@link FileRevocationList}. */
export interface FileRevocationListOptions {
  /** Time source for revocation times and refreshes. Default: the system clock. */
  readonly clock?: Clock;
  /**
   * How often, at most, `isRevoked` looks for revocations written by other processes
   * (default 250 ms): the bound on how long another process's revocation takes to be seen here.
   */
  readonly refreshMs?: number;
}

const KINDS = new Set<RevocationKind>(["agent", "token", "key"]);

/**
 * A {@link RevocationList} in an append-only JSON Lines file (default
 * `.agentgate/revocations.jsonl`) that every process on the host shares (SECURITY.md D36).
 *
 * Each revocation is one `write` in append mode, framed by newlines, so concurrent writers never
 * interleave and a record torn by a crash is skipped without hiding the records after it. Readers
 * read only what was appended since their last look, at most every `refreshMs`. When the file
 * cannot be read, `isRevoked` answers `true` for everything (fail closed) until it can.
 */
export class FileRevocationList implements RevocationList {
  readonly #entries = new RevocationIndex();
  readonly #probe: FileProbe;
  readonly #clock: Clock;
  #offset = 0;
  #version = 0;
  #failed = false;

  constructor(
    readonly path: string = join(".agentgate", "revocations.jsonl"),
    options: FileRevocationListOptions = {},
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#probe = new FileProbe(path, options.refreshMs ?? 250, this.#clock);
    this.#refresh();
  }

  async revoke(kind: RevocationKind, id: string, reason?: string): Promise<Revocation> {
    const entry = createRevocation(kind, id, reason, this.#clock);
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // One write call in append mode: atomic with respect to other appenders on a local disk.
    appendFileSync(this.path, `\n${JSON.stringify(entry)}\n`, { mode: 0o600, flag: "a" });
    this.#add(entry);
    return entry;
  }

  isRevoked(kind: RevocationKind, id: string): boolean {
    this.#refresh();
    return this.#failed || this.#entries.has(kind, id);
  }

  async list(): Promise<readonly Revocation[]> {
    this.#probe.reset();
    this.#refresh();
    return this.#entries.list();
  }

  version(): number {
    this.#refresh();
    return this.#version;
  }

  #add(entry: Revocation): void {
    if (this.#entries.add(entry)) this.#version++;
  }

  #refresh(): void {
    if (!this.#probe.changed()) return;
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch (error) {
      this.#failed = (error as NodeJS.ErrnoException).code !== "ENOENT";
      return;
    }
    try {
      const chunks: Buffer[] = [];
      const buffer = Buffer.alloc(64 * 1024);
      let position = this.#offset;
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, position);
        if (read === 0) break;
        chunks.push(Buffer.from(buffer.subarray(0, read)));
        position += read;
      }
      const text = Buffer.concat(chunks).toString("utf8");
      const complete = text.lastIndexOf("\n");
      if (complete >= 0) {
        for (const line of text.slice(0, complete).split("\n")) this.#parse(line);
        this.#offset += Buffer.byteLength(text.slice(0, complete + 1));
      }
      this.#failed = false;
    } catch {
      this.#failed = true;
    } finally {
      closeSync(fd);
    }
  }

  #parse(line: string): void {
    if (line.trim() === "") return;
    try {
      const entry = JSON.parse(line) as Revocation;
      if (
        KINDS.has(entry.kind) &&
        typeof entry.id === "string" &&
        typeof entry.revokedAt === "string"
      ) {
        this.#add(entry);
      }
    } catch {
      // A record torn by a writer that crashed mid-write was never acknowledged: skip it.
    }
  }
}
