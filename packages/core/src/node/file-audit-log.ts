import { hash as digest } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../audit/audit-event.js";
import type { AuditSink } from "../audit/audit-sink.js";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { randomId } from "../internal/random-id.js";
import { writeFileAtomic } from "./atomic-file.js";
import { AuditLock } from "./audit-lock.js";
import {
  GENESIS_HASH,
  listSegments,
  segmentIndex,
  segmentPath,
  splitRecordLine,
} from "./audit-segments.js";
import { CheckpointKey } from "./checkpoint-key.js";

/**
 * How durable `write` is when it resolves:
 * - `process` (default): the record was handed to the OS with a synchronous write; a crash of
 *   the process loses nothing, a crash of the machine may lose the last records.
 * - `fsync`: every record is synced to disk before `write` resolves.
 * - `group`: records of concurrent callers are written and synced together every few
 *   milliseconds; each `write` resolves after the sync that covered it.
 */
export type AuditDurability = "process" | "fsync" | "group";

/** The file operations the log uses; replaceable in tests to simulate a failing disk. */
export interface AuditFileSystem {
  writeSync(fd: number, data: string): number;
  fdatasyncSync(fd: number): void;
}

/** Options of {@link FileAuditLog.open}. */
export interface FileAuditLogOptions {
  /** The log's directory. Default `.agentgate/audit`. */
  readonly directory?: string;
  /** When `write` resolves (see {@link AuditDurability}). Default `process`. */
  readonly durability?: AuditDurability;
  /**
   * Group-commit window in `group` mode. Default 0: records queued by callers that are already
   * running are written and synced together on the next turn of the event loop.
   */
  readonly groupCommitMs?: number;
  /** A segment larger than this is closed and the next one started. Default 64 MiB. */
  readonly maxSegmentBytes?: number;
  /** A signed checkpoint every this many records, and on close. Default 1,000; 0 turns it off. */
  readonly checkpointEvery?: number;
  /** Where the newest checkpoint is kept, outside the log. Default `<directory>.checkpoint.json`. */
  readonly checkpointPath?: string;
  /** The checkpoint signing key. Default `<directory>.checkpoint-key.json`, created on first use. */
  readonly checkpointKeyPath?: string;
  /** Time source for events the log writes itself. Default: the system clock. */
  readonly clock?: Clock;
  /** Replaces the file operations, to test a failing disk. Default: `node:fs`. */
  readonly fileSystem?: AuditFileSystem;
}

/** What opening found: a record torn by a crash, cut from the tail. */
export interface AuditRecovery {
  readonly segment: string;
  readonly truncatedBytes: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const NODE_FS: AuditFileSystem = {
  writeSync: (fd, data) => fs.writeSync(fd, data),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
};

/**
 * The embedded audit log: JSON Lines, one record per event, each with its sequence number, the
 * previous record's hash and its own SHA-256, so that any edit, deletion, reordering or fork is
 * found by {@link verifyAuditLog}; signed checkpoints kept outside the log make a cut tail
 * detectable too. One writer per log across processes (a lock file), segments rotated by size
 * with the chain continuing, and a record torn by `kill -9` cut on reopen (SECURITY.md E40–E42,
 * I62, J74, J75).
 *
 * A failed write or sync rejects with `audit_unavailable` and stops the log: every later write
 * rejects too, so the gate denies rather than run unaudited (E43, J74).
 *
 * @example
 * ```ts
 * const audit = await FileAuditLog.open({ directory: ".agentgate/audit", durability: "group" });
 * const gate = new Gate({ ...ports, audit });
 * ```
 */
export class FileAuditLog implements AuditSink {
  /** Set when opening cut a torn record from the tail. */
  readonly recovery: AuditRecovery | undefined;
  readonly directory: string;
  readonly #options: FileAuditLogOptions;
  readonly #fs: AuditFileSystem;
  readonly #clock: Clock;
  readonly #lock: AuditLock;
  readonly #key: CheckpointKey | undefined;
  readonly #logId: string;
  #fd: number;
  #segment: number;
  #segmentBytes: number;
  #seq: number;
  #prev: string;
  #failure: AgentGateError | undefined;
  #closed = false;
  #pending: string[] = [];
  #waiters: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  #checkpointed: number;

  private constructor(options: FileAuditLogOptions, state: OpenState) {
    this.#options = options;
    this.directory = state.directory;
    this.#fs = options.fileSystem ?? NODE_FS;
    this.#clock = options.clock ?? systemClock;
    this.#lock = state.lock;
    this.#logId = state.logId;
    this.#fd = state.fd;
    this.#segment = state.segment;
    this.#segmentBytes = state.segmentBytes;
    this.#seq = state.seq;
    this.#prev = state.prev;
    this.recovery = state.recovery;
    this.#checkpointed = state.seq;
    this.#key =
      (options.checkpointEvery ?? 1000) > 0
        ? CheckpointKey.loadOrCreate(
            options.checkpointKeyPath ?? `${state.directory}.checkpoint-key.json`,
          )
        : undefined;
  }

  /**
   * Opens (or creates) the log: takes the writer lock, finds the last whole record, cuts a torn
   * one after a crash (recording a `log_recovered` event), and continues the chain. Rejects
   * with `audit_unavailable` when the log is locked by a live process or its tail is corrupt.
   */
  static async open(options: FileAuditLogOptions = {}): Promise<FileAuditLog> {
    const log = new FileAuditLog(
      options,
      openState(options.directory ?? join(".agentgate", "audit")),
    );
    if (log.recovery !== undefined) {
      await log.write({
        v: AUDIT_SCHEMA_VERSION,
        id: randomId(),
        type: "log_recovered",
        time: new Date(log.#clock.now()).toISOString(),
        details: { ...log.recovery },
      });
    }
    return log;
  }

  /** The sequence number the next record gets (= the number of records so far). */
  get size(): number {
    return this.#seq;
  }

  write(event: AuditEvent): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closed)
      return Promise.reject(new AgentGateError("audit_unavailable", "The audit log is closed."));
    const body = recordBody(this.#seq, this.#prev, event);
    const hash = digest("sha256", body, "hex");
    const line = `${body.slice(0, -1)},"hash":"${hash}"}\n`;
    const bytes = Buffer.byteLength(line);
    try {
      if (
        this.#segmentBytes > 0 &&
        this.#segmentBytes + bytes > (this.#options.maxSegmentBytes ?? 64 * 2 ** 20)
      ) {
        this.#rotate();
      }
      this.#seq++;
      this.#prev = hash;
      this.#segmentBytes += bytes;
      const durability = this.#options.durability ?? "process";
      if (durability === "group") return this.#enqueue(line);
      this.#writeAll(line);
      if (durability === "fsync") this.#fs.fdatasyncSync(this.#fd);
      this.#maybeCheckpoint();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(this.#fail(error));
    }
  }

  async flush(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    this.#flushPending();
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Flushes, writes a final checkpoint, syncs and releases the writer lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
      this.#fs.fdatasyncSync(this.#fd);
      this.#checkpoint();
    } finally {
      this.#closed = true;
      fs.closeSync(this.#fd);
      this.#lock.release();
    }
  }

  #enqueue(line: string): Promise<void> {
    this.#pending.push(line);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.#timer === undefined) {
      const window = this.#options.groupCommitMs ?? 0;
      // With no window, the flush runs once the callers already resumed have queued their records.
      this.#timer =
        window > 0
          ? setTimeout(() => this.#flushPending(), window)
          : setImmediate(() => this.#flushPending());
    }
    return done;
  }

  #flushPending(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as ReturnType<typeof setTimeout>);
      clearImmediate(this.#timer as ReturnType<typeof setImmediate>);
    }
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const lines = this.#pending.join("");
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    try {
      this.#writeAll(lines);
      this.#fs.fdatasyncSync(this.#fd);
    } catch (error) {
      const failure = this.#fail(error);
      for (const waiter of waiters) waiter.reject(failure);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
    this.#maybeCheckpoint();
  }

  #writeAll(data: string): void {
    const written = this.#fs.writeSync(this.#fd, data);
    if (written !== Buffer.byteLength(data)) throw new Error(`short write (${written} bytes)`);
  }

  #rotate(): void {
    this.#flushPending();
    if (this.#failure !== undefined) throw this.#failure;
    this.#fs.fdatasyncSync(this.#fd);
    fs.closeSync(this.#fd);
    this.#segment++;
    this.#fd = fs.openSync(segmentPath(this.directory, this.#segment), "a", 0o600);
    this.#segmentBytes = 0;
  }

  #maybeCheckpoint(): void {
    const every = this.#options.checkpointEvery ?? 1000;
    if (every > 0 && this.#pending.length === 0 && this.#seq - this.#checkpointed >= every)
      this.#checkpoint();
  }

  #checkpoint(): void {
    if (this.#key === undefined || this.#seq === 0) return;
    this.#checkpointed = this.#seq;
    const checkpoint = this.#key.sign({
      log: this.#logId,
      seq: this.#seq,
      hash: this.#prev,
      time: new Date(this.#clock.now()).toISOString(),
    });
    const path = this.#options.checkpointPath ?? `${this.directory}.checkpoint.json`;
    // As durable as the records it covers: synced unless the log runs in `process` mode.
    writeFileAtomic(
      path,
      `${JSON.stringify(checkpoint)}\n`,
      0o600,
      (this.#options.durability ?? "process") !== "process",
    );
  }

  /** Stops the log for good: a failed write or sync is never retried as if it succeeded (J74). */
  #fail(error: unknown): AgentGateError {
    this.#failure ??= new AgentGateError(
      "audit_unavailable",
      `The audit log failed: ${describe(error)}.`,
      { cause: error },
    );
    return this.#failure;
  }
}

interface OpenState {
  readonly directory: string;
  readonly lock: AuditLock;
  readonly logId: string;
  readonly fd: number;
  readonly segment: number;
  readonly segmentBytes: number;
  readonly seq: number;
  readonly prev: string;
  readonly recovery: AuditRecovery | undefined;
}

function openState(directory: string): OpenState {
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const lock = AuditLock.acquire(join(directory, "audit.lock"));
  try {
    const logId = logIdentity(directory);
    const segments = listSegments(directory);
    let recovery: AuditRecovery | undefined;
    let tail: { seq: number; hash: string } | undefined;
    for (const segment of [...segments].reverse()) {
      const found = lastRecord(segment);
      recovery ??= found.recovery;
      if (found.record !== undefined) {
        tail = found.record;
        break;
      }
    }
    const segment = segments.length === 0 ? 1 : segmentIndex(segments.at(-1) as string);
    const path = segmentPath(directory, segment);
    const fd = fs.openSync(path, "a", 0o600);
    return {
      directory,
      lock,
      logId,
      fd,
      segment,
      segmentBytes: fs.fstatSync(fd).size,
      seq: tail === undefined ? 0 : tail.seq + 1,
      prev: tail?.hash ?? GENESIS_HASH,
      recovery,
    };
  } catch (error) {
    lock.release();
    throw error instanceof AgentGateError
      ? error
      : new AgentGateError(
          "audit_unavailable",
          `The audit log cannot be opened: ${describe(error)}.`,
          { cause: error },
        );
  }
}

function logIdentity(directory: string): string {
  const path = join(directory, "log.json");
  try {
    return (JSON.parse(fs.readFileSync(path, "utf8")) as { id: string }).id;
  } catch {
    const id = randomId();
    writeFileAtomic(path, `${JSON.stringify({ id, created: new Date().toISOString() })}\n`, 0o600);
    return id;
  }
}

/**
 * The last whole record of a segment. A tail without a final newline is a record torn by a crash
 * (never acknowledged, since `write` resolves only after the whole line was written): it is cut
 * (J75). A whole last line whose hash does not check is tampering, not a crash: opening refuses.
 */
function lastRecord(path: string): {
  record?: { seq: number; hash: string };
  recovery?: AuditRecovery;
} {
  const size = fs.statSync(path).size;
  if (size === 0) return {};
  const start = Math.max(0, size - 1024 * 1024);
  const fd = fs.openSync(path, "r+");
  try {
    const buffer = Buffer.alloc(size - start);
    fs.readSync(fd, buffer, 0, buffer.length, start);
    const text = buffer.toString("utf8");
    const end = text.lastIndexOf("\n");
    let recovery: AuditRecovery | undefined;
    if (end !== text.length - 1) {
      const keep = start + (end < 0 ? 0 : Buffer.byteLength(text.slice(0, end + 1)));
      fs.ftruncateSync(fd, keep);
      fs.fdatasyncSync(fd);
      recovery = { segment: path, truncatedBytes: size - keep };
    }
    if (end < 0) return recovery === undefined ? {} : { recovery };
    const line = text.slice(text.lastIndexOf("\n", end - 1) + 1, end);
    const split = splitRecordLine(line);
    const seq = split === undefined ? undefined : (JSON.parse(line) as { seq?: unknown }).seq;
    if (
      split === undefined ||
      typeof seq !== "number" ||
      digest("sha256", split.body, "hex") !== split.hash
    ) {
      throw new AgentGateError(
        "audit_unavailable",
        `The last record of ${path} does not check; run verifyAuditLog before writing more.`,
      );
    }
    return { record: { seq, hash: split.hash }, ...(recovery === undefined ? {} : { recovery }) };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The hashed body of a record: `seq` and `prev` first, then the event. Built by splicing the
 * event's JSON (one serialisation on the hot path); an event carrying `seq`, `prev` or `hash`
 * itself takes the slow path, so it can never shadow the log's own members.
 */
function recordBody(seq: number, prev: string, event: AuditEvent): string {
  const head = `{"seq":${seq},"prev":"${prev}"`;
  if (!("seq" in event || "prev" in event || "hash" in event)) {
    const json = JSON.stringify(event);
    return json === "{}" ? `${head}}` : `${head},${json.slice(1)}`;
  }
  const {
    hash: _hash,
    seq: _seq,
    prev: _prev,
    ...fields
  } = event as AuditEvent & Record<string, unknown>;
  return JSON.stringify({ seq, prev, ...fields });
}

function describe(error: unknown): string {
  return (
    (error as NodeJS.ErrnoException | undefined)?.code ??
    (error instanceof Error ? error.message : String(error))
  );
}
