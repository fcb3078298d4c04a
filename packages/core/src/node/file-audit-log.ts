import { hash as digest } from "node:crypto";
import * as fs from "node:fs";
import { basename, dirname, join } from "node:path";
import { AUDIT_SCHEMA_VERSION, type AuditEvent } from "../audit/audit-event.js";
import type { AuditSink } from "../audit/audit-sink.js";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { randomId } from "../internal/random-id.js";
import { writeFileAtomic, writeFileAtomicAsync } from "./atomic-file.js";
import {
  cosignedCheckpoint,
  cosignedPath,
  defaultCheckpointPath,
  readOptional,
  type TrustedCheckpoint,
  writerCheckpoint,
} from "./audit-checkpoints.js";
import { AuditLock, type AuditLockOptions } from "./audit-lock.js";
import {
  GENESIS_HASH,
  listSegments,
  scanSegments,
  segmentIndex,
  segmentPath,
  splitRecordLine,
} from "./audit-segments.js";
import { CheckpointKey } from "./checkpoint-key.js";
import { CompactRange, CosignedRange } from "./merkle-tree.js";
import { auditOrigin } from "./tlog-checkpoint.js";
import type { WitnessClient } from "./witness/witness-client.js";

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
  /**
   * A signed checkpoint (and a witness submission) after this many records. Default 1,000; 0
   * leaves only the timer, open and close.
   */
  readonly checkpointEvery?: number;
  /**
   * A signed checkpoint (and a witness submission) at least this often while records arrive.
   * Default 1,000 ms; 0 turns the timer off. With `checkpointEvery`, this bounds the records
   * that can vanish undetected: those newer than the last cosigned checkpoint (K81).
   */
  readonly checkpointIntervalMs?: number;
  /**
   * Where the newest checkpoint is kept (and `<path>.cosigned` the newest one the witness
   * cosigned). Default: beside the checkpoint key, outside the log's directory (see
   * {@link defaultCheckpointPath}).
   */
  readonly checkpointPath?: string;
  /**
   * The checkpoint signing key file. Default: `AGENTGATE_CHECKPOINT_KEY` (the key itself), else
   * `AGENTGATE_CHECKPOINT_KEY_FILE`, else `~/.config/agentgate/audit-checkpoint-key.json`;
   * created on first use; refused inside the log directory.
   */
  readonly checkpointKeyPath?: string;
  /** The witness that cosigns this log's checkpoints. Default: none (not anchored). */
  readonly witness?: WitnessClient;
  /** The witness's verifier key: cosignatures are checked with it before they are kept. */
  readonly witnessKey?: string;
  /** See {@link AuditLockOptions.staleMs}. */
  readonly lockStaleMs?: number;
  /** Time source for events the log writes itself. Default: the system clock. */
  readonly clock?: Clock;
  /** Replaces the file operations, to test a failing disk. Default: `node:fs`. */
  readonly fileSystem?: AuditFileSystem;
}

/** Where a log stands with its witness. */
export interface AuditAnchorStatus {
  /** The size of the newest checkpoint the witness cosigned (0 when none). */
  readonly cosignedSize: number;
  /** Records newer than that: the only ones that could still vanish undetected (K81). */
  readonly unanchored: number;
  /** Why the last submission failed, when it did. */
  readonly error?: string;
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
 * previous record's hash and its own hash, `SHA-256(0x00 || record bytes)`: the RFC 9162 leaf
 * hash, so the records are both a hash chain and the leaves of a Merkle tree. Any edit,
 * deletion, reordering or fork is found by {@link verifyAuditLog}; signed checkpoints (C2SP
 * `tlog-checkpoint` notes) kept outside the log, and cosigned by a witness when one is
 * configured, make a cut or rewritten history detectable too. One writer per chain across
 * processes (a lock file), segments rotated by size with the chain continuing, and a record torn
 * by `kill -9` cut on reopen (SECURITY.md E40–E42, I62, J74, J75, K77–K82).
 *
 * Opening refuses (`audit_unavailable`, `details.check: "cut"`) a log that is shorter than, or
 * differs from, the last checkpoint this writer or the witness signed: nothing is written over
 * a cut until `recoverAuditLog` records what was lost (K80).
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
  /** The log's origin in its checkpoints (`agentgate.dev/audit/<log id>`). */
  readonly origin: string;
  /** Where the newest signed checkpoint is kept. */
  readonly checkpointPath: string;
  readonly #options: FileAuditLogOptions;
  readonly #fs: AuditFileSystem;
  readonly #clock: Clock;
  readonly #lock: AuditLock;
  readonly #key: CheckpointKey;
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
  readonly #ticker: ReturnType<typeof setInterval> | undefined;
  readonly #tree: CompactRange;
  #checkpointed = -1;
  #note = "";
  // The tree as the newest checkpoint signed it: a submission proves growth up to that size,
  // never to records written after it (the tree itself grows while a submission waits).
  #checkpointTree: CompactRange;
  // Witness state: the compact range at the last cosigned size, and every leaf after it.
  #cosigned: CosignedRange;
  #inflight: Promise<void> | undefined;
  #again = false;
  #anchorError: string | undefined;
  // Checkpoint notes being written, in order (see #persist).
  #persisting: Promise<void> = Promise.resolve();

  private constructor(options: FileAuditLogOptions, state: OpenState) {
    this.#options = options;
    this.directory = state.directory;
    this.origin = state.origin;
    this.checkpointPath = state.checkpointPath;
    this.#fs = options.fileSystem ?? NODE_FS;
    this.#clock = options.clock ?? systemClock;
    this.#lock = state.lock;
    this.#key = state.key;
    this.#fd = state.fd;
    this.#segment = state.segment;
    this.#segmentBytes = state.segmentBytes;
    this.#seq = state.seq;
    this.#prev = state.prev;
    this.recovery = state.recovery;
    this.#tree = state.tree;
    this.#checkpointTree = state.tree.clone();
    this.#cosigned = new CosignedRange(state.base, state.sinceBase);
    const interval = options.checkpointIntervalMs ?? 1000;
    if (interval > 0) {
      this.#ticker = setInterval(() => this.#tick(), interval);
      this.#ticker.unref();
    }
  }

  /**
   * Opens (or creates) the log: takes the writer lock, removes temporary files a crash left,
   * reads the chain (cutting a record torn by a crash and recording a `log_recovered` event),
   * compares it with the newest checkpoint this writer and the witness signed, and continues the
   * chain. Rejects with `audit_unavailable` when the log is locked by a live process, its tail is
   * corrupt, or it is shorter than or different from a checkpoint (`details.check: "cut"`).
   */
  static async open(options: FileAuditLogOptions = {}): Promise<FileAuditLog> {
    let log: FileAuditLog | undefined;
    const state = await openState(options, (reason) => {
      if (log !== undefined) log.#fail(new Error(`lock lost: ${reason}`));
    });
    log = new FileAuditLog(options, state);
    if (log.recovery !== undefined) {
      await log.write({
        v: AUDIT_SCHEMA_VERSION,
        id: randomId(),
        type: "log_recovered",
        time: new Date(log.#clock.now()).toISOString(),
        details: { ...log.recovery },
      });
    }
    // The writer's memory of the log starts now: a later cut shows against this checkpoint.
    if (state.checkpointSize !== log.#seq) log.#checkpoint();
    else {
      log.#checkpointed = log.#seq;
      log.#note = state.checkpointNote ?? "";
      if (log.#options.witness !== undefined && log.#cosigned.size < log.#seq) log.#submit();
    }
    // The checkpoint of the log as opened is on disk before the first write (K80).
    await log.#persisting;
    const failure = log.#failure;
    if (failure !== undefined) {
      await log.close().catch(() => undefined);
      throw failure;
    }
    return log;
  }

  /** The sequence number the next record gets (= the number of records so far). */
  get size(): number {
    return this.#seq;
  }

  /** Where the log stands with its witness. */
  get anchor(): AuditAnchorStatus {
    return {
      cosignedSize: this.#cosigned.size,
      unanchored: this.#seq - this.#cosigned.size,
      ...(this.#anchorError === undefined ? {} : { error: this.#anchorError }),
    };
  }

  write(event: AuditEvent): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closed)
      return Promise.reject(new AgentGateError("audit_unavailable", "The audit log is closed."));
    const body = recordBody(this.#seq, this.#prev, event);
    // RFC 9162 leaf hash of the record's bytes: the chain link and the Merkle leaf at once.
    const hash = digest("sha256", `\u0000${body}`, "hex");
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
      const leaf = Buffer.from(hash, "hex");
      this.#tree.append(leaf);
      if (this.#options.witness !== undefined) this.#cosigned.append(leaf);
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
    await this.#persisting;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * Flushes, writes a final checkpoint, waits (up to 5 s) for the witness to cosign it, syncs
   * and releases the writer lock.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    try {
      await this.flush();
      this.#fs.fdatasyncSync(this.#fd);
      if (this.#checkpointed !== this.#seq) this.#checkpoint();
      await this.#settle(5_000);
      await this.#persisting;
      if (this.#failure !== undefined) throw this.#failure;
    } finally {
      this.#closed = true;
      fs.closeSync(this.#fd);
      this.#lock.release();
    }
  }

  async #settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#options.witness !== undefined && Date.now() < deadline) {
      if (this.#inflight === undefined) {
        if (this.#cosigned.size >= this.#seq || this.#anchorError !== undefined) return;
        this.#submit();
      }
      await Promise.race([
        this.#inflight,
        new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()),
      ]);
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

  #tick(): void {
    if (this.#closed || this.#failure !== undefined) return;
    try {
      this.#flushPending();
      if (this.#checkpointed !== this.#seq) this.#checkpoint();
      else if (this.#options.witness !== undefined && this.#cosigned.size < this.#seq)
        this.#submit();
    } catch (error) {
      this.#fail(error);
    }
  }

  #maybeCheckpoint(): void {
    const every = this.#options.checkpointEvery ?? 1000;
    if (every > 0 && this.#pending.length === 0 && this.#seq - this.#checkpointed >= every)
      this.#checkpoint();
  }

  /** Signs the tree head of every record written so far, keeps it, and sends it to the witness. */
  #checkpoint(): void {
    this.#checkpointed = this.#seq;
    this.#checkpointTree = this.#tree.clone();
    this.#note = this.#key.signCheckpoint({
      origin: this.origin,
      size: this.#seq,
      root: this.#checkpointTree.root(),
    });
    // As durable as the records it covers: synced unless the log runs in `process` mode.
    this.#persist(
      this.checkpointPath,
      this.#note,
      (this.#options.durability ?? "process") !== "process",
    );
    if (this.#options.witness !== undefined) this.#submit();
  }

  /**
   * Keeps a checkpoint note at `path`, off the event loop and in order, so that records keep
   * being written while the note's file is created, synced and renamed into place (the note
   * covers records already written; a crash before it lands leaves the previous one, a prefix
   * of the log). `flush` and `close` wait for it. A failure stops the log (J74).
   */
  #persist(path: string, note: string, sync: boolean): void {
    this.#persisting = this.#persisting
      .then(() => writeFileAtomicAsync(path, note, 0o600, sync))
      .catch((error: unknown) => {
        this.#fail(error);
      });
  }

  /** One submission at a time; a checkpoint signed meanwhile goes after it. */
  #submit(): void {
    const witness = this.#options.witness;
    if (witness === undefined) return;
    if (this.#inflight !== undefined) {
      this.#again = true;
      return;
    }
    const note = this.#note;
    const size = this.#checkpointed;
    const baseSize = this.#cosigned.size;
    if (size <= baseSize && baseSize > 0) return;
    const snapshot = this.#checkpointTree;
    const proof = this.#cosigned.proof(size);
    this.#inflight = witness
      .addCheckpoint({ oldSize: baseSize, proof, checkpoint: note })
      .then((response) => {
        if (response.status === "cosigned") {
          const cosigned = `${note}${response.cosignature}`;
          const key = this.#options.witnessKey;
          if (key !== undefined && cosignedCheckpoint(cosigned, key) === undefined) {
            this.#anchorError = "the witness's cosignature does not verify with its key";
            return;
          }
          this.#persist(cosignedPath(this.checkpointPath), cosigned, true);
          this.#cosigned.advance(snapshot);
          this.#anchorError = undefined;
        } else if (response.status === "conflict") {
          this.#anchorError = `the witness holds a checkpoint of size ${response.size} for this log, not ${baseSize}: another writer on this chain, or a cut`;
        } else {
          this.#anchorError = `the witness refused the checkpoint: ${response.reason}`;
        }
      })
      .catch((error: unknown) => {
        this.#anchorError = `the witness is unreachable: ${describe(error)}`;
      })
      .finally(() => {
        this.#inflight = undefined;
        if (this.#again && !this.#closed) {
          this.#again = false;
          if (this.#anchorError === undefined) this.#submit();
        }
      });
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
  readonly origin: string;
  readonly checkpointPath: string;
  readonly lock: AuditLock;
  readonly key: CheckpointKey;
  readonly fd: number;
  readonly segment: number;
  readonly segmentBytes: number;
  readonly seq: number;
  readonly prev: string;
  readonly recovery: AuditRecovery | undefined;
  readonly tree: CompactRange;
  readonly base: CompactRange;
  readonly sinceBase: Buffer[];
  /** The size of the writer's newest checkpoint, when it has one. */
  readonly checkpointSize: number | undefined;
  readonly checkpointNote: string | undefined;
}

async function openState(
  options: FileAuditLogOptions,
  onLost: (reason: string) => void,
): Promise<OpenState> {
  const directory = options.directory ?? join(".agentgate", "audit");
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const lock = AuditLock.acquire(join(directory, "audit.lock"), {
    ...(options.lockStaleMs === undefined ? {} : { staleMs: options.lockStaleMs }),
    onLost,
  });
  try {
    const key = CheckpointKey.load({
      ...(options.checkpointKeyPath === undefined ? {} : { path: options.checkpointKeyPath }),
      logDirectory: directory,
    });
    const checkpointPath =
      options.checkpointPath ?? defaultCheckpointPath(directory, options.checkpointKeyPath);
    removeTemporaries(directory, checkpointPath);
    const origin = auditOrigin(logIdentity(directory));
    const anchors = await readAnchors(options, key, checkpointPath, origin);
    const baseSize = options.witness === undefined ? 0 : (anchors.cosigned?.size ?? 0);
    const scan = scanLog(
      directory,
      anchors.all.map((anchor) => anchor.size),
      baseSize,
      options.witness !== undefined,
    );
    for (const anchor of anchors.all) {
      const problem = cutProblem(anchor, origin, scan);
      if (problem !== undefined) {
        throw new AgentGateError(
          "audit_unavailable",
          `The audit log ${directory} does not match its last checkpoint (${problem}). Nothing is written to it until \`agentgate audit recover\` records what was lost.`,
          {
            details: {
              check: "cut",
              directory,
              logSize: scan.count,
              checkpointSize: anchor.size,
              signedBy: anchor.source,
              origin: anchor.origin,
              problem,
            },
          },
        );
      }
    }
    const segments = listSegments(directory);
    const segment = segments.length === 0 ? 1 : segmentIndex(segments.at(-1) as string);
    const path = segmentPath(directory, segment);
    let recovery: AuditRecovery | undefined;
    if (scan.torn !== undefined) {
      // A tail without its final newline was never acknowledged (`write` resolves only after the
      // whole line was written): cut it (J75).
      const size = fs.statSync(scan.torn.segment).size;
      fs.truncateSync(scan.torn.segment, size - scan.torn.bytes);
      recovery = { segment: scan.torn.segment, truncatedBytes: scan.torn.bytes };
    }
    const fd = fs.openSync(path, "a", 0o600);
    return {
      directory,
      origin,
      checkpointPath,
      lock,
      key,
      fd,
      segment,
      segmentBytes: fs.fstatSync(fd).size,
      seq: scan.count,
      prev: scan.lastHash,
      recovery,
      tree: scan.tree,
      base: scan.base,
      sinceBase: scan.sinceBase,
      checkpointSize: anchors.writer?.size,
      checkpointNote: anchors.writer?.note,
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

/** Why the log does not extend `anchor`, or undefined when it does (K80). */
function cutProblem(anchor: Anchor, origin: string, scan: LogScan): string | undefined {
  if (anchor.origin !== origin)
    return `the log's id changed: the ${anchor.source}'s checkpoint is of ${anchor.origin}, the directory holds ${origin}`;
  if (scan.count < anchor.size)
    return `the log holds ${scan.count} records but the ${anchor.source} signed a checkpoint of ${anchor.size}: ${anchor.size - scan.count} records were cut`;
  const root = scan.roots.get(anchor.size);
  if (root === undefined || !root.equals(anchor.root))
    return `the first ${anchor.size} records differ from the ones the ${anchor.source} signed: history rewritten`;
  return undefined;
}

interface Anchor extends TrustedCheckpoint {
  readonly source: "writer" | "witness";
}

/** The newest checkpoints this writer and the witness signed for the log. */
async function readAnchors(
  options: FileAuditLogOptions,
  key: CheckpointKey,
  checkpointPath: string,
  origin: string,
): Promise<{ writer?: Anchor; cosigned?: Anchor; all: Anchor[] }> {
  const all: Anchor[] = [];
  const text = readOptional(checkpointPath);
  let writer: Anchor | undefined;
  if (text !== undefined) {
    const checked = writerCheckpoint(text, key.publicKey);
    if (checked === undefined) {
      throw new AgentGateError(
        "audit_unavailable",
        `The checkpoint ${checkpointPath} is not signed by this writer's key: it was replaced, or the key was. Run \`agentgate audit verify\`.`,
        { details: { check: "checkpoint", checkpointPath } },
      );
    }
    writer = { ...checked, source: "writer" };
    all.push(writer);
  }
  let cosignedText: string | undefined;
  if (options.witness !== undefined) {
    try {
      cosignedText = await options.witness.latest(origin);
    } catch {
      // Unreachable: the copy kept beside the checkpoint is the best memory there is.
      cosignedText = readOptional(cosignedPath(checkpointPath));
    }
  }
  let cosigned: Anchor | undefined;
  if (cosignedText !== undefined) {
    const checked =
      options.witnessKey === undefined
        ? writerCheckpoint(cosignedText, key.publicKey)
        : cosignedCheckpoint(cosignedText, options.witnessKey);
    if (checked !== undefined) {
      cosigned = { ...checked, source: "witness" };
      all.push(cosigned);
    }
  }
  return { ...(writer ? { writer } : {}), ...(cosigned ? { cosigned } : {}), all };
}

interface LogScan {
  readonly count: number;
  readonly lastHash: string;
  readonly tree: CompactRange;
  readonly roots: Map<number, Buffer>;
  readonly base: CompactRange;
  readonly sinceBase: Buffer[];
  readonly torn?: { segment: string; bytes: number };
}

/**
 * Reads the leaf hashes of every record (no JSON parsing: the hash is the line's fixed-length
 * suffix), with the roots at the sizes asked for. The last record's hash is checked against its
 * bytes: a whole last line that does not check is tampering, not a crash, and opening refuses.
 */
function scanLog(
  directory: string,
  sizes: readonly number[],
  baseSize: number,
  keepLeaves: boolean,
): LogScan {
  const tree = new CompactRange();
  const roots = new Map<number, Buffer>();
  const wanted = new Set(sizes);
  let base = new CompactRange();
  const sinceBase: Buffer[] = [];
  let last = "";
  let torn: LogScan["torn"];
  const mark = () => {
    if (wanted.has(tree.size)) roots.set(tree.size, tree.root());
    if (tree.size === baseSize) base = tree.clone();
  };
  mark();
  scanSegments(
    directory,
    (line) => {
      const split = splitRecordLine(line);
      if (split === undefined) {
        throw new AgentGateError(
          "audit_unavailable",
          `Record ${tree.size} of ${directory} is malformed; run \`agentgate audit verify\`.`,
          { details: { check: "record", seq: tree.size } },
        );
      }
      last = line;
      const leaf = Buffer.from(split.hash, "hex");
      tree.append(leaf);
      if (keepLeaves && tree.size > baseSize) sinceBase.push(leaf);
      mark();
      return true;
    },
    (segment, bytes, isLast) => {
      if (!isLast) {
        throw new AgentGateError(
          "audit_unavailable",
          `${segment} ends in a torn record but is not the last segment; run \`agentgate audit verify\`.`,
          { details: { check: "record", seq: tree.size } },
        );
      }
      torn = { segment, bytes };
    },
  );
  let lastHash = GENESIS_HASH;
  if (last !== "") {
    const split = splitRecordLine(last) as { body: string; hash: string };
    const seq = /^\{"seq":(\d+),/.exec(last)?.[1];
    if (
      Number(seq) !== tree.size - 1 ||
      digest("sha256", `\u0000${split.body}`, "hex") !== split.hash
    ) {
      throw new AgentGateError(
        "audit_unavailable",
        `The last record of ${directory} does not check; run \`agentgate audit verify\` before writing more.`,
        { details: { check: "record", seq: tree.size - 1 } },
      );
    }
    lastHash = split.hash;
  }
  return {
    count: tree.size,
    lastHash,
    tree,
    roots,
    base,
    sinceBase,
    ...(torn === undefined ? {} : { torn }),
  };
}

/** Temporary files of atomic writes that a `kill -9` interrupted (K82). */
function removeTemporaries(directory: string, checkpointPath: string): void {
  const sweep = (folder: string, prefix: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(folder);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith(".tmp"))
        fs.rmSync(join(folder, name), { force: true });
    }
  };
  sweep(directory, "");
  sweep(dirname(checkpointPath), basename(checkpointPath));
}

function logIdentity(directory: string): string {
  const path = join(directory, "log.json");
  try {
    return (JSON.parse(fs.readFileSync(path, "utf8")) as { id: string }).id;
  } catch {
    const id = randomId();
    writeFileAtomic(
      path,
      `${JSON.stringify({ id, created: new Date().toISOString(), leaves: "rfc9162" })}\n`,
      0o600,
    );
    return id;
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
