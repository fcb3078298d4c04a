import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  readlinkSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { AgentGateError } from "../errors.js";

/** Options of {@link AuditLock.acquire}. */
export interface AuditLockOptions {
  /**
   * A lock whose holder cannot be seen (another host or PID namespace) is taken as abandoned
   * when its heartbeat is older than this. Default 10 s; the holder beats every quarter of it.
   */
  readonly staleMs?: number;
  /** Called when the holder finds that its lock file is no longer its own. */
  readonly onLost?: (reason: string) => void;
}

interface Holder {
  readonly pid: number;
  /** Host, boot and PID namespace: where `pid` means something. */
  readonly where: string;
  readonly token: string;
}

const HERE = `${hostname()}|${readQuietly("/proc/sys/kernel/random/boot_id").trim()}|${linkQuietly("/proc/self/ns/pid")}`;

/**
 * The single-writer lock of one audit chain: a lock file created exclusively (`O_EXCL`), naming
 * its holder (pid, host, boot and PID namespace, a random token) and kept fresh by a heartbeat.
 *
 * A lock is abandoned when its holder is seen dead (same host and PID namespace, `kill(pid, 0)`
 * fails), or, when the holder cannot be seen (another container or host sharing the volume),
 * when its heartbeat stopped for `staleMs`. Breaking an abandoned lock never races another
 * breaker into two holders (SECURITY.md K82): breakers serialise on `<lock>.break`, and under
 * it remove the lock only if it is still the very file they judged abandoned (same inode, same
 * content); every holder then takes the lock with `O_EXCL`, so exactly one wins.
 *
 * Residual risk, documented: a holder whose event loop stalls longer than `staleMs` while in a
 * namespace others cannot see may be judged abandoned; it finds out at its next heartbeat and
 * stops writing (`onLost`).
 */
export class AuditLock {
  readonly #path: string;
  readonly #token: string;
  readonly #timer: ReturnType<typeof setInterval>;
  #released = false;

  private constructor(path: string, token: string, options: AuditLockOptions) {
    this.#path = path;
    this.#token = token;
    const staleMs = options.staleMs ?? 10_000;
    this.#timer = setInterval(() => this.#beat(options.onLost), Math.max(50, staleMs / 4));
    this.#timer.unref();
  }

  /** Takes the lock or rejects with `audit_unavailable` naming the process that holds it. */
  static acquire(path: string, options: AuditLockOptions = {}): AuditLock {
    const staleMs = options.staleMs ?? 10_000;
    const token = randomBytes(12).toString("hex");
    const content = JSON.stringify({ pid: process.pid, where: HERE, token } satisfies Holder);
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o600);
        try {
          writeSync(fd, content);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        return new AuditLock(path, token, options);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const seen = observe(path);
      if (seen === undefined) continue; // released meanwhile: try again
      const verdict = judge(seen, staleMs);
      if (verdict !== undefined) {
        throw new AgentGateError(
          "audit_unavailable",
          `The audit log is being written by ${verdict} (${path}); one writer per chain.`,
          { details: { check: "lock", lock: path } },
        );
      }
      breakAbandoned(path, seen, staleMs);
    }
    throw new AgentGateError("audit_unavailable", `Could not take the audit log lock ${path}.`, {
      details: { check: "lock", lock: path },
    });
  }

  /** Releases the lock, if it is still this holder's. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    if (this.#isMine()) unlinkQuietly(this.#path);
  }

  #isMine(): boolean {
    return parseHolder(readQuietly(this.#path))?.token === this.#token;
  }

  #beat(onLost: AuditLockOptions["onLost"]): void {
    if (this.#released) return;
    if (!this.#isMine()) {
      clearInterval(this.#timer);
      onLost?.(`the lock ${this.#path} was taken by another process`);
      return;
    }
    const now = new Date();
    try {
      utimesSync(this.#path, now, now);
    } catch {
      // A failed heartbeat shows at the next one, when the file is checked again.
    }
  }
}

interface Observed {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly text: string;
}

function observe(path: string): Observed | undefined {
  try {
    const stat = statSync(path);
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, text: readFileSync(path, "utf8") };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Who holds the lock, or undefined when it is abandoned. */
function judge(seen: Observed, staleMs: number): string | undefined {
  const holder = parseHolder(seen.text);
  const age = Date.now() - seen.mtimeMs;
  if (holder !== undefined && holder.where === HERE) {
    if (holder.pid === process.pid) return `this process (pid ${holder.pid})`;
    return isRunning(holder.pid) ? `process ${holder.pid}` : undefined;
  }
  // A holder we cannot see (or a lock being written right now): only its heartbeat tells.
  if (age <= staleMs)
    return holder === undefined
      ? "a process starting"
      : `process ${holder.pid} on ${holder.where.split("|")[0]}`;
  return undefined;
}

function breakAbandoned(path: string, seen: Observed, staleMs: number): void {
  const breaker = `${path}.break`;
  try {
    closeSync(openSync(breaker, "wx", 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // Another process is breaking it; a breaker killed mid-way leaves its file, old after a while.
    try {
      if (Date.now() - statSync(breaker).mtimeMs > 3 * staleMs) unlinkQuietly(breaker);
    } catch {
      // gone meanwhile
    }
    pause(2 + Math.random() * 8);
    return;
  }
  try {
    const now = observe(path);
    if (now !== undefined && now.ino === seen.ino && now.text === seen.text) unlinkQuietly(path);
  } finally {
    unlinkQuietly(breaker);
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    return typeof value.pid === "number" &&
      typeof value.where === "string" &&
      typeof value.token === "string"
      ? (value as Holder)
      : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readQuietly(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function linkQuietly(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
