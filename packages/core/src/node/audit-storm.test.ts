import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { defaultCheckpointPath, FileAuditLog, verifyAuditLog } from "./index.js";

const WRITER = fileURLToPath(new URL("../../test/fixtures/audit-writer.mjs", import.meta.url));
const CONTENDER = fileURLToPath(new URL("../../test/fixtures/audit-storm.mjs", import.meta.url));

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function deployment() {
  const root = mkdtempSync(join(tmpdir(), "agentgate-storm-"));
  roots.push(root);
  const keyPath = join(root, "home", "audit-checkpoint-key.json");
  const directory = join(root, ".agentgate", "audit");
  return { root, keyPath, directory, checkpointPath: defaultCheckpointPath(directory, keyPath) };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

function firstLine(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`writer exited with ${code}`)));
  });
}

const temporaries = (folder: string) =>
  readdirSync(folder, { recursive: true })
    .map(String)
    .filter((name) => name.endsWith(".tmp"));

describe("many writers after a crash (K82)", () => {
  it("K82: 20 processes opening the same directory after kill -9, 5 trials: one writer at a time, 0 forks, no *.tmp left", async () => {
    for (let trial = 0; trial < 5; trial++) {
      const d = deployment();
      // A writer that checkpoints after every record (the most temporary files), killed mid-way.
      const crashed = spawn(
        process.execPath,
        [WRITER, d.directory, "process", "1000000", "0", d.keyPath, "1"],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      await firstLine(crashed);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      crashed.kill("SIGKILL");
      await exited(crashed);
      const contenders = Array.from({ length: 20 }, () =>
        spawn(process.execPath, [CONTENDER, d.directory, d.keyPath, "20"], {
          stdio: ["ignore", "pipe", "inherit"],
        }),
      );
      const codes = await Promise.all(contenders.map(exited));
      expect(
        codes.every((code) => code === 0 || code === 3),
        `trial ${trial}: ${codes}`,
      ).toBe(true);
      const wrote = codes.filter((code) => code === 0).length;
      expect(wrote, `trial ${trial}`).toBeGreaterThan(0);
      const result = await verifyAuditLog(d.directory, {
        checkpointPath: d.checkpointPath,
        checkpointKey: d.keyPath,
      });
      expect(result, `trial ${trial}`).toMatchObject({ ok: true });
      // Whatever the crashed writer acknowledged, plus 20 records of every contender that won.
      const log = await FileAuditLog.open({ directory: d.directory, checkpointKeyPath: d.keyPath });
      await log.close();
      expect(temporaries(d.directory), `trial ${trial}`).toEqual([]);
      expect(temporaries(dirname(d.checkpointPath)), `trial ${trial}`).toEqual([]);
      expect(result.records).toBeGreaterThanOrEqual(20 * wrote);
    }
  }, 600_000);

  it("K82: a lock held in another PID namespace is respected while its heartbeat is fresh, and broken once it stops", async () => {
    const d = deployment();
    const log = await FileAuditLog.open({ directory: d.directory, checkpointKeyPath: d.keyPath });
    await log.close();
    const lock = join(d.directory, "audit.lock");
    // pid 1 is alive here too: only the namespace in the lock tells that it is not ours.
    writeFileSync(
      lock,
      JSON.stringify({ pid: 1, where: "other-host|boot|pid:[4026531999]", token: "t" }),
    );
    const refused = await FileAuditLog.open({
      directory: d.directory,
      checkpointKeyPath: d.keyPath,
    }).catch((error: unknown) => error);
    expect(isAgentGateError(refused) && refused.details?.check).toBe("lock");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const taken = await FileAuditLog.open({ directory: d.directory, checkpointKeyPath: d.keyPath });
    await taken.write({ v: 1, id: "e", type: "decision", time: new Date().toISOString() });
    await taken.close();
  });

  it("K82: a holder whose lock was taken over stops writing", async () => {
    const d = deployment();
    const log = await FileAuditLog.open({
      directory: d.directory,
      checkpointKeyPath: d.keyPath,
      lockStaleMs: 400,
    });
    writeFileSync(
      join(d.directory, "audit.lock"),
      JSON.stringify({ pid: 1, where: "other-host|boot|pid:[4026531999]", token: "t" }),
    );
    const deadline = Date.now() + 30_000;
    let error: unknown;
    while (Date.now() < deadline && error === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      error = await log
        .write({ v: 1, id: "e", type: "decision", time: new Date().toISOString() })
        .then(
          () => undefined,
          (failure: unknown) => failure,
        );
    }
    expect(isAgentGateError(error) && error.code).toBe("audit_unavailable");
  });
});
