import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { hash as digest } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CheckpointKey, CompactRange, defaultCheckpointPath } from "@agentgate/core/node";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, SUPPORT } from "../test/workspace.js";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const HOLDER = fileURLToPath(new URL("../test/hold-audit-log.mjs", import.meta.url));
const OPS = "spiffe://acme.example/agent/ops";

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const step of cleanup.splice(0)) step();
});

/** A deployment run as real processes: its key outside `.agentgate`, a witness beside it. */
function deployment() {
  const root = mkdtempSync(join(tmpdir(), "agentgate-cli-evidence-"));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, ".agentgate");
  const keyPath = join(root, "home", "audit-checkpoint-key.json");
  const env = { ...process.env, AGENTGATE_CHECKPOINT_KEY_FILE: keyPath, NO_COLOR: "1" };
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, "--dir", dir, ...args], {
      encoding: "utf8",
      env,
      timeout: 60_000,
    });
  return {
    root,
    dir,
    keyPath,
    env,
    run,
    checkpointPath: defaultCheckpointPath(join(dir, "audit"), keyPath),
  };
}

/** Starts `agentgate witness` as its own process on 127.0.0.1 and waits for its URL and key. */
async function startWitness(
  root: string,
  env: NodeJS.ProcessEnv,
  writerKey: string,
): Promise<{ url: string; key: string; process: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [BIN, "witness", "--state", join(root, "witness"), "--writer-key", writerKey, "--port", "0"],
    { env, stdio: ["ignore", "pipe", "inherit"] },
  );
  cleanup.push(() => child.kill("SIGKILL"));
  let text = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no witness after 60 s: ${text}`)), 60_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const url = /listening on (\S+)/.exec(text)?.[1];
      const key = /key: (\S+)/.exec(text)?.[1];
      if (url !== undefined && key !== undefined) {
        clearTimeout(timer);
        resolve({ url, key, process: child });
      }
    });
    child.once("exit", (code) => reject(new Error(`the witness exited with ${code}: ${text}`)));
  });
}

const segment = (dir: string) => join(dir, "audit", "audit-000001.jsonl");
const lines = (dir: string) => readFileSync(segment(dir), "utf8").split("\n").filter(Boolean);

/** An attacker's rewrite: change records, recompute every hash and link after them. */
function rewriteChain(records: readonly string[], edit: (record: Record<string, unknown>) => void) {
  let prev = "0".repeat(64);
  return records.map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    delete record.hash;
    record.prev = prev;
    edit(record);
    const body = JSON.stringify(record);
    prev = digest("sha256", `\u0000${body}`, "hex");
    return `${body.slice(0, -1)},"hash":"${prev}"}`;
  });
}

describe("audit evidence through the CLI, with a real witness process", () => {
  it("K77–K80: anchored verify, a rewrite and a cut caught by the witness, recovery, and an inclusion proof checked with the witness key alone", async () => {
    const d = deployment();
    expect(d.run("init", "--trust-domain", "acme.example", "--audience", AUDIENCE).status).toBe(0);
    const writerKey = d.run("audit", "key").stdout.trim();
    expect(writerKey).toMatch(/^[\w-]{43}$/);
    const witness = await startWitness(d.root, d.env, writerKey);
    const config = JSON.parse(readFileSync(join(d.dir, "config.json"), "utf8"));
    writeFileSync(
      join(d.dir, "config.json"),
      JSON.stringify({ ...config, audit: { witness: { url: witness.url, key: witness.key } } }),
    );
    for (const agent of [SUPPORT, OPS])
      expect(d.run("agent", "add", agent, "--owner", "alice@acme.example").status).toBe(0);
    expect(d.run("agent", "revoke", SUPPORT, "--reason", "test").status).toBe(0);
    expect(d.run("keys", "rotate").status).toBe(0);

    const ok = d.run("audit", "verify");
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain("anchored: a witness cosigned it");
    const records = lines(d.dir);
    expect(records.length).toBeGreaterThan(1);

    // An inclusion proof of record 0, checked with nothing but the proof and the witness key.
    const proofFile = join(d.root, "proof.json");
    expect(d.run("audit", "prove", "0", "--out", proofFile).status).toBe(0);
    const checked = spawnSync(
      process.execPath,
      [BIN, "audit", "verify-proof", proofFile, "--witness-key", witness.key],
      { encoding: "utf8", env: d.env, cwd: d.root },
    );
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    expect(checked.stdout).toContain("ok: record 0 is in the log");
    const proof = JSON.parse(readFileSync(proofFile, "utf8"));
    writeFileSync(
      proofFile,
      JSON.stringify({
        ...proof,
        record: rewriteChain([proof.record], (r) => (r.time = "2020-01-01T00:00:00.000Z"))[0],
      }),
    );
    expect(d.run("audit", "verify-proof", proofFile, "--witness-key", witness.key).status).toBe(1);

    // K79: history rewritten and re-signed with the writer's own key (the attacker can read it).
    const rewritten = rewriteChain(records, (record) => {
      if (record.type === "revocation") record.agent = OPS;
    });
    writeFileSync(segment(d.dir), `${rewritten.join("\n")}\n`);
    const head = readFileSync(d.checkpointPath, "utf8").split("\n");
    const tree = new CompactRange();
    for (const line of rewritten) tree.append(Buffer.from(line.slice(-66, -2), "hex"));
    writeFileSync(
      d.checkpointPath,
      CheckpointKey.load({ path: d.keyPath }).signCheckpoint({
        origin: head[0] as string,
        size: rewritten.length,
        root: tree.root(),
      }),
    );
    const caught = d.run("audit", "verify");
    expect(caught.status).toBe(1);
    expect(caught.stdout).toContain("history rewritten");

    // K77: the tail cut (the original records, one fewer).
    writeFileSync(segment(d.dir), `${records.slice(0, -1).join("\n")}\n`);
    const cut = d.run("audit", "verify", "--json");
    expect(cut.status).toBe(1);
    expect(JSON.parse(cut.stdout)).toMatchObject({ ok: false, check: "cut" });

    // K80: a writer refuses the cut log; recovery records what was lost; then all verifies.
    const before = readFileSync(segment(d.dir), "utf8");
    const refused = d.run("keys", "rotate");
    expect(refused.stderr).toMatch(/does not match its last checkpoint .*records were cut/);
    expect(readFileSync(segment(d.dir), "utf8")).toBe(before);
    const recovered = d.run("audit", "recover", "--reason", "restored from backup");
    expect(recovered.status, recovered.stdout + recovered.stderr).toBe(0);
    expect(recovered.stdout).toContain("recovered:");
    const after = d.run("audit", "verify");
    expect(after.status, after.stdout + after.stderr).toBe(0);
    expect(after.stdout).toContain("recovered after a cut");
  }, 300_000);

  it("K77/K78 without a witness: verify says plainly that the log is not anchored; a deleted checkpoint fails; --witness-key without a cosigned checkpoint fails unless --allow-unanchored", async () => {
    const d = deployment();
    expect(d.run("init", "--trust-domain", "acme.example", "--audience", AUDIENCE).status).toBe(0);
    expect(d.run("agent", "add", SUPPORT, "--owner", "alice@acme.example").status).toBe(0);
    expect(d.run("agent", "revoke", SUPPORT, "--reason", "test").status).toBe(0);
    const plain = d.run("audit", "verify");
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain(
      "not anchored: anyone who can write this directory can rewrite it",
    );
    const writerKey = d.run("audit", "key").stdout.trim();
    const witness = await startWitness(d.root, d.env, writerKey);
    const strict = d.run("audit", "verify", "--witness-key", witness.key);
    expect(strict.status).toBe(1);
    expect(strict.stdout).toContain("no checkpoint cosigned by the witness");
    const loose = d.run("audit", "verify", "--witness-key", witness.key, "--allow-unanchored");
    expect(loose.status).toBe(0);
    expect(loose.stderr).toContain("no witness vouches for this log");
    rmSync(d.checkpointPath);
    const missing = d.run("audit", "verify");
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain("no signed checkpoint");
  }, 300_000);

  it("K79/K80 with many writers: while a gate holds the log, a CLI change writes its own chain, cosigned under its own log id; verify checks every chain; a cut writer's chain is refused and caught", async () => {
    const d = deployment();
    expect(d.run("init", "--trust-domain", "acme.example", "--audience", AUDIENCE).status).toBe(0);
    const witness = await startWitness(d.root, d.env, d.run("audit", "key").stdout.trim());
    const config = JSON.parse(readFileSync(join(d.dir, "config.json"), "utf8"));
    writeFileSync(
      join(d.dir, "config.json"),
      JSON.stringify({ ...config, audit: { witness: { url: witness.url, key: witness.key } } }),
    );
    expect(d.run("agent", "add", SUPPORT, "--owner", "alice@acme.example").status).toBe(0);

    // A real second process holds the log's own chain, as a running gate does.
    const holder = spawn(process.execPath, [HOLDER, join(d.dir, "audit")], {
      env: d.env,
      stdio: ["pipe", "pipe", "inherit"],
    });
    cleanup.push(() => holder.kill("SIGKILL"));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no holder after 60 s")), 60_000);
      holder.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      holder.once("exit", (code) => reject(new Error(`the holder exited (${code})`)));
    });
    for (const agent of [OPS, "spiffe://acme.example/agent/billing"]) {
      const added = d.run("agent", "add", agent, "--owner", "bob@acme.example");
      expect(added.status, added.stdout + added.stderr).toBe(0);
    }
    const [writer] = readdirSync(join(d.dir, "audit", "writers"));
    expect(writer).toBeDefined();

    const ok = d.run("audit", "verify", "--json");
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const verified = JSON.parse(ok.stdout);
    expect(verified).toMatchObject({ ok: true, anchored: true });
    expect(verified.writers).toEqual([
      expect.objectContaining({ writer, ok: true, anchored: true, records: 2 }),
    ]);

    // The writer's chain cut by one record: verify names the writer; its next change is refused.
    const segment = join(d.dir, "audit", "writers", writer as string, "audit-000001.jsonl");
    const records = readFileSync(segment, "utf8").split("\n").filter(Boolean);
    writeFileSync(segment, `${records.slice(0, -1).join("\n")}\n`);
    const caught = d.run("audit", "verify");
    expect(caught.status).toBe(1);
    expect(caught.stdout).toMatch(new RegExp(`writer ${writer}: BROKEN.*tail cut`));
    const refused = d.run("agent", "add", "spiffe://acme.example/agent/late", "--owner", "bob");
    expect(refused.status).not.toBe(0);
    expect(d.run("agent", "list", "--json").stdout).not.toContain("agent/late");
    holder.stdin?.end();
  }, 300_000);
});
