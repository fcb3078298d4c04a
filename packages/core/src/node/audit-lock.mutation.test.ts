import { spawnSync } from "node:child_process";
import {
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../test/fixtures/temp-dir.js";
import { AgentGateError } from "../errors.js";
import { AuditLock } from "./audit-lock.js";

// The writer's single-writer lock (SECURITY.md E41, J75, K82) on real lock files: who holds it,
// when a lock is abandoned (a dead holder here, a stopped heartbeat elsewhere), how breakers
// serialise on `<lock>.break` and break only the very file they judged, the heartbeat and the
// lost-lock callback (MUTATION.md, group `audit-store`). Time is driven by file mtimes and a
// faked clock, never by sleeping. A hook on `statSync` changes the lock between the moment it
// is judged and the moment it is broken: the race K82 is about, made deterministic.

const hooks = vi.hoisted(() => ({
  stat: undefined as ((path: string, call: number) => void) | undefined,
  calls: new Map<string, number>(),
}));
vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>();
  return {
    ...actual,
    statSync: ((path: string, ...rest: unknown[]) => {
      const call = (hooks.calls.get(String(path)) ?? 0) + 1;
      hooks.calls.set(String(path), call);
      hooks.stat?.(String(path), call);
      return (actual.statSync as (...args: unknown[]) => unknown)(path, ...rest);
    }) as typeof actual.statSync,
  };
});

afterEach(() => {
  hooks.stat = undefined;
  hooks.calls.clear();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const HERE = `${hostname()}|${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}|${readlinkSync("/proc/self/ns/pid")}`;
const T = 1_800_000_000_000; // a whole second, so that mtimes set from it are exact

function lockPath(): string {
  return join(tempDir("agentgate-lock-"), "audit.lock");
}

function writeLock(path: string, holder: unknown, mtimeMs?: number): void {
  writeFileSync(path, typeof holder === "string" ? holder : JSON.stringify(holder));
  if (mtimeMs !== undefined) utimesSync(path, mtimeMs / 1000, mtimeMs / 1000);
}

function refusal(run: () => unknown): AgentGateError {
  try {
    run();
  } catch (error) {
    if (error instanceof AgentGateError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  expect(child.status).toBe(0);
  return child.pid as number;
}

const openFds = () => readdirSync("/proc/self/fd").length;

describe("AuditLock: taking and releasing", () => {
  it("E41: acquire writes an exclusive 0600 lock naming this process, host, boot and PID namespace; release removes it", () => {
    const path = lockPath();
    const fds = openFds();
    const lock = AuditLock.acquire(path);
    expect(openFds()).toBe(fds);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const holder = JSON.parse(readFileSync(path, "utf8"));
    expect(Object.keys(holder)).toEqual(["pid", "where", "token"]);
    expect(holder.pid).toBe(process.pid);
    expect(holder.where).toBe(HERE);
    expect(holder.token).toMatch(/^[0-9a-f]{24}$/);
    lock.release();
    expect(existsSync(path)).toBe(false);
    lock.release();
    // Taken again at once after a release.
    AuditLock.acquire(path).release();
    expect(existsSync(path)).toBe(false);
  });

  it("E41: a second acquire in this process is refused, naming this process", () => {
    const path = lockPath();
    const lock = AuditLock.acquire(path);
    const error = refusal(() => AuditLock.acquire(path));
    expect(error.code).toBe("audit_unavailable");
    expect(error.message).toBe(
      `The audit log is being written by this process (pid ${process.pid}) (${path}); one writer per chain.`,
    );
    expect(error.details).toEqual({ check: "lock", lock: path });
    lock.release();
  });

  it("K82: release leaves a lock that is no longer this holder's", () => {
    const path = lockPath();
    const lock = AuditLock.acquire(path);
    const other = JSON.stringify({ pid: 4242, where: "elsewhere|b|n", token: "theirs" });
    writeFileSync(path, other);
    lock.release();
    expect(readFileSync(path, "utf8")).toBe(other);
  });

  it("a lock in a directory that does not exist is that error, not a held lock", () => {
    const path = join(tempDir("agentgate-lock-"), "missing", "audit.lock");
    expect(() => AuditLock.acquire(path)).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});

describe("AuditLock: holders on this host (J75)", () => {
  it("J75: a live process's lock is refused, naming it", () => {
    const path = lockPath();
    writeLock(path, { pid: process.ppid, where: HERE, token: "t" }, T);
    const error = refusal(() => AuditLock.acquire(path));
    expect(error.message).toBe(
      `The audit log is being written by process ${process.ppid} (${path}); one writer per chain.`,
    );
    expect(error.details).toEqual({ check: "lock", lock: path });
  });

  it("J75: a dead process's lock is broken at once, its heartbeat however fresh; no breaker file is left", () => {
    const path = lockPath();
    writeLock(path, { pid: deadPid(), where: HERE, token: "dead" });
    const lock = AuditLock.acquire(path);
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    expect(existsSync(`${path}.break`)).toBe(false);
    lock.release();
  });

  it("J75: a process that cannot be signalled (EPERM) is alive", () => {
    const path = lockPath();
    writeLock(path, { pid: 999_999, where: HERE, token: "t" });
    vi.spyOn(process, "kill").mockImplementation(() => {
      throw Object.assign(new Error("not permitted"), { code: "EPERM" });
    });
    expect(refusal(() => AuditLock.acquire(path)).message).toContain("by process 999999 (");
  });

  it("J75: the lock of another process with this pid but seen elsewhere is judged by its heartbeat", () => {
    const path = lockPath();
    writeLock(path, { pid: process.pid, where: "otherhost|boot|ns", token: "t" });
    expect(refusal(() => AuditLock.acquire(path)).message).toBe(
      `The audit log is being written by process ${process.pid} on otherhost (${path}); one writer per chain.`,
    );
  });
});

describe("AuditLock: holders that cannot be seen (E41)", () => {
  it("E41: another host's lock is refused while its heartbeat is at most staleMs old, broken after", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: T });
    const path = lockPath();
    const holder = { pid: 77, where: "otherhost|boot|ns", token: "t" };
    writeLock(path, holder, T - 1000);
    expect(refusal(() => AuditLock.acquire(path, { staleMs: 1000 })).message).toBe(
      `The audit log is being written by process 77 on otherhost (${path}); one writer per chain.`,
    );
    writeLock(path, holder, T - 1001);
    const lock = AuditLock.acquire(path, { staleMs: 1000 });
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    expect(existsSync(`${path}.break`)).toBe(false);
    lock.release();
  });

  it("E41: the default staleMs is 10 s", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: T });
    const path = lockPath();
    writeLock(path, { pid: 77, where: "otherhost|boot|ns", token: "t" }, T - 10_000);
    expect(() => AuditLock.acquire(path)).toThrow(/process 77 on otherhost/);
    writeLock(path, { pid: 77, where: "otherhost|boot|ns", token: "t" }, T - 10_001);
    AuditLock.acquire(path).release();
  });

  it.each([
    ["not JSON", "{"],
    ["null", "null"],
    ["a pid that is no number", { pid: "77", where: "h|b|n", token: "t" }],
    ["no where", { pid: 77, token: "t" }],
    ["a where that is no string", { pid: 77, where: 5, token: "t" }],
    ["no token", { pid: 77, where: "h|b|n" }],
    ["a token that is no string", { pid: 77, where: "h|b|n", token: 1 }],
  ])(
    "E41: a lock file with %s is a process starting while fresh, abandoned when stale",
    (_, text) => {
      vi.useFakeTimers({ toFake: ["Date"], now: T });
      const path = lockPath();
      writeLock(path, text, T - 500);
      expect(refusal(() => AuditLock.acquire(path, { staleMs: 1000 })).message).toBe(
        `The audit log is being written by a process starting (${path}); one writer per chain.`,
      );
      writeLock(path, text, T - 5000);
      AuditLock.acquire(path, { staleMs: 1000 }).release();
    },
  );
});

describe("AuditLock: breaking an abandoned lock (K82)", () => {
  const stale = { pid: 77, where: "otherhost|boot|ns", token: "stale" };

  it("K82: while another breaker works, acquire waits its turn and gives up after 50 attempts", () => {
    const path = lockPath();
    writeLock(path, stale, Date.now() - 600_000);
    writeFileSync(`${path}.break`, "");
    const error = refusal(() => AuditLock.acquire(path, { staleMs: 60_000 }));
    expect(error.code).toBe("audit_unavailable");
    expect(error.message).toBe(`Could not take the audit log lock ${path}.`);
    expect(error.details).toEqual({ check: "lock", lock: path });
    expect(hooks.calls.get(`${path}.break`)).toBe(50);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(stale);
    expect(existsSync(`${path}.break`)).toBe(true);
  });

  it("K82: a breaker file left by a killed breaker is removed once older than three staleMs, not at three", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: T });
    const path = lockPath();
    writeLock(path, stale, T - 600_000);
    writeLock(`${path}.break`, "", T - 3000);
    expect(() => AuditLock.acquire(path, { staleMs: 1000 })).toThrow(/Could not take/);
    expect(existsSync(`${path}.break`)).toBe(true);
    utimesSync(`${path}.break`, (T - 3001) / 1000, (T - 3001) / 1000);
    const lock = AuditLock.acquire(path, { staleMs: 1000 });
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    expect(existsSync(`${path}.break`)).toBe(false);
    lock.release();
  });

  it("K82: a breaker file that cannot be created for another reason than EEXIST is that error", () => {
    // 250 characters: the lock's name fits, `<lock>.break` (256) does not.
    const path = join(tempDir("agentgate-lock-"), "l".repeat(250));
    writeLock(path, stale, Date.now() - 600_000);
    expect(() => AuditLock.acquire(path, { staleMs: 1000 })).toThrow(
      expect.objectContaining({ code: "ENAMETOOLONG" }),
    );
  });

  it("K82: a lock rewritten by a new holder between judging and breaking is not broken", () => {
    const path = lockPath();
    writeLock(path, stale, Date.now() - 600_000);
    hooks.stat = (seen, call) => {
      // The second look at the lock is the breaker's, under `<lock>.break`.
      if (seen === path && call === 2)
        writeFileSync(path, JSON.stringify({ pid: 88, where: "hostb|boot|ns", token: "new" }));
    };
    expect(refusal(() => AuditLock.acquire(path, { staleMs: 1000 })).message).toContain(
      "by process 88 on hostb (",
    );
    expect(existsSync(`${path}.break`)).toBe(false);
  });

  it("K82: a lock replaced by another file of the same content between judging and breaking is not broken", () => {
    const dir = tempDir("agentgate-lock-");
    const path = join(dir, "audit.lock");
    writeLock(path, stale, Date.now() - 600_000);
    hooks.stat = (seen, call) => {
      if (seen === path && call === 2) {
        renameSync(path, join(dir, "old.lock")); // kept, so that its inode is not reused
        writeFileSync(path, JSON.stringify(stale));
      }
    };
    expect(refusal(() => AuditLock.acquire(path, { staleMs: 1000 })).message).toContain(
      "by process 77 on otherhost (",
    );
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(stale);
  });

  it("K82: a lock released between judging and breaking is taken on the next attempt", () => {
    const path = lockPath();
    writeLock(path, stale, Date.now() - 600_000);
    hooks.stat = (seen, call) => {
      if (seen === path && call === 2) unlinkSync(path);
    };
    const lock = AuditLock.acquire(path, { staleMs: 1000 });
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    expect(existsSync(`${path}.break`)).toBe(false);
    lock.release();
  });

  it("K82: a lock released before it could be looked at is taken on the next attempt", () => {
    const path = lockPath();
    writeLock(path, { pid: process.ppid, where: HERE, token: "live" });
    hooks.stat = (seen, call) => {
      if (seen === path && call === 1) unlinkSync(path);
    };
    const lock = AuditLock.acquire(path);
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    lock.release();
  });

  it("a lock that cannot be looked at (EIO) is that error, not a released lock", () => {
    const path = lockPath();
    writeLock(path, { pid: process.ppid, where: HERE, token: "live" });
    hooks.stat = (seen) => {
      if (seen === path) throw Object.assign(new Error("i/o error"), { code: "EIO" });
    };
    expect(() => AuditLock.acquire(path)).toThrow(expect.objectContaining({ code: "EIO" }));
  });
});

describe("AuditLock: the heartbeat and a lost lock", () => {
  it("E41: the holder touches its lock every quarter of staleMs, and calls onLost once when another took it", () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"], now: T });
    const path = lockPath();
    const onLost = vi.fn();
    const lock = AuditLock.acquire(path, { staleMs: 1000, onLost });
    utimesSync(path, (T - 60_000) / 1000, (T - 60_000) / 1000);
    vi.advanceTimersByTime(249);
    expect(statSync(path).mtimeMs).toBe(T - 60_000);
    vi.advanceTimersByTime(1);
    expect(statSync(path).mtimeMs).toBe(T + 250);
    vi.advanceTimersByTime(250);
    expect(statSync(path).mtimeMs).toBe(T + 500);
    expect(onLost).not.toHaveBeenCalled();

    const other = JSON.stringify({ pid: 4242, where: "elsewhere|b|n", token: "theirs" });
    writeLock(path, other, T - 60_000);
    vi.advanceTimersByTime(250);
    expect(onLost).toHaveBeenCalledTimes(1);
    expect(onLost).toHaveBeenCalledWith(`the lock ${path} was taken by another process`);
    vi.advanceTimersByTime(2000);
    expect(onLost).toHaveBeenCalledTimes(1);
    expect(statSync(path).mtimeMs).toBe(T - 60_000); // another's lock is never touched
    lock.release();
    expect(readFileSync(path, "utf8")).toBe(other);
  });

  it("E41: a lost lock without onLost stops the heartbeat quietly", () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"], now: T });
    const path = lockPath();
    const lock = AuditLock.acquire(path, { staleMs: 1000 });
    unlinkSync(path);
    expect(() => vi.advanceTimersByTime(1000)).not.toThrow();
    expect(existsSync(path)).toBe(false);
    lock.release();
  });

  it("E41: no heartbeat after release", () => {
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"], now: T });
    const path = lockPath();
    const onLost = vi.fn();
    const lock = AuditLock.acquire(path, { staleMs: 1000, onLost });
    lock.release();
    vi.advanceTimersByTime(2000);
    expect(onLost).not.toHaveBeenCalled();
    expect(existsSync(path)).toBe(false);
  });
});
