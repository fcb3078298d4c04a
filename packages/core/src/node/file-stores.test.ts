import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { calculateJwkThumbprint } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { AUDIENCE, SUPPORT } from "../../test/fixtures/identity.js";
import { pollUntil } from "../../test/fixtures/poll.js";
import { tempDir } from "../../test/fixtures/temp-dir.js";
import { Authority, defineAgent, MemoryAgentRegistry } from "../index.js";
import { TestClock } from "../testing/index.js";
import { FileKeyStore, FileRevocationList, JsonFileAgentRegistry } from "./index.js";

const DIST_NODE = fileURLToPath(new URL("../../dist/node/index.js", import.meta.url));
let dir: string;

beforeEach(() => {
  dir = tempDir("agentgate-stores-");
});

async function authorityOn(keys: string, options: { create?: boolean } = {}) {
  const clock = new TestClock();
  const registry = new MemoryAgentRegistry([
    defineAgent({ id: SUPPORT, owner: "alice", maxScopes: ["crm:read"] }, clock),
  ]);
  return Authority.create({
    trustDomain: "acme.example",
    registry,
    clock,
    keyStore: new FileKeyStore(keys, options),
  });
}

describe("FileKeyStore: H. keys and secrets", () => {
  it("H57: writes private keys with mode 0600 in a 0700 directory", async () => {
    const keys = join(dir, "keys");
    await authorityOn(keys);
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    const files = readdirSync(keys);
    expect(files).toHaveLength(1);
    expect(statSync(join(keys, files[0] as string)).mode & 0o777).toBe(0o600);
  });

  it("H58: key ids are RFC 7638 thumbprints, stable across restarts", async () => {
    const keys = join(dir, "keys");
    const first = await authorityOn(keys);
    const again = await authorityOn(keys);
    expect(again.keys().map((key) => key.kid)).toEqual(first.keys().map((key) => key.kid));
    const jwk = first.jwks().keys[0];
    expect(await calculateJwkThumbprint(jwk as never)).toBe(jwk?.kid);
    // A token issued before the restart verifies after it.
    const { token } = await first.issueToken(SUPPORT, { audience: AUDIENCE });
    await expect(again.verifier().verify(token, { audience: AUDIENCE })).resolves.toBeDefined();
  });

  it("H59: a corrupt key file fails at start-up with key_store_invalid, naming the file", async () => {
    const keys = join(dir, "keys");
    const first = await authorityOn(keys);
    const file = join(keys, `${first.keys()[0]?.kid}.json`);
    writeFileSync(file, "{ not json", { mode: 0o600 });
    await expectCode(authorityOn(keys), "key_store_invalid");
    await expect(authorityOn(keys)).rejects.toThrow(file);
  });

  it("H59: a key whose kid is not its thumbprint, or whose parts do not match, is refused", async () => {
    const keys = join(dir, "keys");
    const first = await authorityOn(keys);
    const kid = first.keys()[0]?.kid as string;
    const stored = JSON.parse(readFileSync(join(keys, `${kid}.json`), "utf8"));
    const other = await authorityOn(join(dir, "other"));
    const otherKid = other.keys()[0]?.kid as string;
    const otherStored = JSON.parse(readFileSync(join(dir, "other", `${otherKid}.json`), "utf8"));
    writeFileSync(
      join(keys, `${kid}.json`),
      JSON.stringify({ ...stored, privateJwk: otherStored.privateJwk }),
      { mode: 0o600 },
    );
    await expectCode(authorityOn(keys), "key_store_invalid");
  });

  it("H59: a missing store is an error when creation is off; a key file readable by others is refused", async () => {
    await expectCode(authorityOn(join(dir, "absent"), { create: false }), "key_store_invalid");
    const keys = join(dir, "keys");
    const first = await authorityOn(keys);
    chmodSync(join(keys, `${first.keys()[0]?.kid}.json`), 0o644);
    await expectCode(authorityOn(keys), "key_store_invalid");
  });

  it("H57: errors about the key store never contain key material", async () => {
    const keys = join(dir, "keys");
    const first = await authorityOn(keys);
    const file = join(keys, `${first.keys()[0]?.kid}.json`);
    const stored = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(file, JSON.stringify({ ...stored, alg: "RS256" }), { mode: 0o600 });
    const error = await authorityOn(keys).catch((caught: Error) => caught);
    expect(String((error as Error).message)).not.toContain(stored.privateJwk.d);
  });
});

describe("JsonFileAgentRegistry", () => {
  it("stores records atomically and another instance (process) sees changes", async () => {
    const path = join(dir, "agents.json");
    const clock = new TestClock();
    const a = new JsonFileAgentRegistry(path, { clock, refreshMs: 0 });
    const b = new JsonFileAgentRegistry(path, { clock, refreshMs: 0 });
    await a.put(defineAgent({ id: SUPPORT, owner: "alice", maxScopes: ["crm:read"] }, clock));
    expect((await b.get(SUPPORT))?.owner).toBe("alice");
    await b.put(defineAgent({ id: SUPPORT, owner: "alice", supervision: "suspended" }, clock));
    expect((await a.get(SUPPORT))?.supervision).toBe("suspended");
    expect(await a.remove(SUPPORT)).toBe(true);
    expect(await b.list()).toEqual([]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("a corrupt file rejects with registry_unavailable", async () => {
    const path = join(dir, "agents.json");
    writeFileSync(path, '{"version":1,"agents":[{"id":"nope"}]}');
    await expectCode(new JsonFileAgentRegistry(path).list(), "registry_unavailable");
  });
});

describe("FileRevocationList: D36", () => {
  // D36 promises propagation within a second; how long it really takes is measured in
  // bench/bounds.mjs. Here it only has to arrive, before a deadline a loaded machine cannot miss.
  it("D36: a revocation by another process becomes visible here (1 s bound measured in bench/bounds.mjs)", async () => {
    const path = join(dir, "revocations.jsonl");
    const list = new FileRevocationList(path, { refreshMs: 250 });
    expect(list.isRevoked("agent", SUPPORT)).toBe(false);
    const script = `import { FileRevocationList } from ${JSON.stringify(DIST_NODE)};
      await new FileRevocationList(${JSON.stringify(path)}).revoke("agent", ${JSON.stringify(SUPPORT)}, "test");`;
    execFileSync(process.execPath, ["--input-type=module", "-e", script]);
    await pollUntil(
      () => list.isRevoked("agent", SUPPORT),
      (revoked) => revoked,
      { what: "the other process's revocation" },
    );
  });

  it("D36: concurrent writers never lose a revocation, and a torn record hides nothing after it", async () => {
    const path = join(dir, "revocations.jsonl");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, '\n{"kind":"agent","id":"torn-by-a-cra');
    const writers = [0, 1, 2].map((n) => {
      const script = `import { FileRevocationList } from ${JSON.stringify(DIST_NODE)};
        const list = new FileRevocationList(${JSON.stringify(path)});
        await Promise.all(Array.from({ length: 50 }, (_, i) => list.revoke("token", "w${n}-" + i)));`;
      return new Promise<void>((resolve, reject) => {
        import("node:child_process").then(({ execFile }) =>
          execFile(process.execPath, ["--input-type=module", "-e", script], (error) =>
            error ? reject(error) : resolve(),
          ),
        );
      });
    });
    await Promise.all(writers);
    const reader = new FileRevocationList(path, { refreshMs: 0 });
    const entries = await reader.list();
    expect(entries.filter((entry) => entry.kind === "token")).toHaveLength(150);
    expect(reader.isRevoked("token", "w2-49")).toBe(true);
  });

  it("fails closed: when the file becomes unreadable every check answers revoked", async () => {
    const path = join(dir, "revocations.jsonl");
    const list = new FileRevocationList(path, { refreshMs: 0 });
    await list.revoke("agent", "spiffe://acme.example/agent/other");
    expect(list.isRevoked("agent", SUPPORT)).toBe(false);
    mkdirSync(`${path}.d`);
    const { renameSync, rmSync } = await import("node:fs");
    rmSync(path);
    renameSync(`${path}.d`, path); // now a directory: reads fail with EISDIR
    expect(list.isRevoked("agent", SUPPORT)).toBe(true);
  });
});
