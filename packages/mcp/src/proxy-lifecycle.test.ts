import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileAuditLog, readAuditLog } from "@agentgate/core/node";
import { afterEach, describe, expect, it } from "vitest";
import { agentGateDirectory } from "../test/setup.js";

// These tests start real processes (the proxy and its upstream): on a loaded machine that takes
// seconds, so every wait is bounded generously and nothing asserts how long anything took.
const BUDGET_MS = 60_000;
const TEST_TIMEOUT_MS = 150_000;
const BIN = fileURLToPath(new URL("../dist/proxy-bin.js", import.meta.url));
const QUITTING = fileURLToPath(new URL("../test/fixtures/quitting-server.mjs", import.meta.url));
const SUPPORT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://mcp.acme.example/quitting";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A temp folder removed after the test. */
function tempFolder(prefix: string): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
  return folder;
}

/** An AgentGate directory where support may call every tool of the `quitting` server. */
async function directory(): Promise<string> {
  const dir = tempFolder("agentgate-proxy-lifecycle-");
  await agentGateDirectory(dir, {
    audience: AUDIENCE,
    agents: [{ id: SUPPORT, owner: "alice@acme.example" }],
    policies: {
      "quitting.cedar": `@id("support-quits")\npermit (principal == Agent::"${SUPPORT}", action, resource);\n`,
    },
  });
  return dir;
}

interface RunningProxy {
  readonly child: ChildProcessWithoutNullStreams;
  /** Sends a JSON-RPC request and resolves with its result (rejects after the budget). */
  request(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Resolves with the exit code, or rejects when the process has not exited within the budget. */
  exited(): Promise<number | null>;
}

/**
 * Starts the proxy in `cwd` (a folder with no node_modules: no `@agentgate/cedar` to find there)
 * in front of the quitting server, and speaks MCP to it over raw stdio. No SDK client: its
 * `close()` ends stdin and then sends SIGTERM, which would hide a proxy that ignores stdin.
 */
function startProxy(dir: string, cwd: string): RunningProxy {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "--dir",
      dir,
      "--server-id",
      "quitting",
      "--agent",
      SUPPORT,
      "--",
      process.execPath,
      QUITTING,
    ],
    { cwd, stdio: ["pipe", "pipe", "pipe"] },
  );
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const pending = new Map<number, (message: Record<string, unknown>) => void>();
  let buffered = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const message = JSON.parse(line) as Record<string, unknown>;
      if (typeof message.id === "number") pending.get(message.id)?.(message);
      newline = buffered.indexOf("\n");
    }
  });
  let nextId = 1;
  const within = <T>(promise: Promise<T>, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what} not within ${BUDGET_MS} ms; stderr: ${stderr}`)),
        BUDGET_MS,
      );
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  return {
    child,
    request(method, params = {}) {
      const id = nextId++;
      const answered = new Promise<Record<string, unknown>>((resolve, reject) => {
        pending.set(id, (message) => {
          if (message.error !== undefined) reject(new Error(JSON.stringify(message.error)));
          else resolve(message.result as Record<string, unknown>);
        });
        exit.then((code) => reject(new Error(`proxy exited (${code}): ${stderr}`)));
      });
      child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
      return within(answered, method);
    },
    exited: () => within(exit, "exit"),
  };
}

async function initialize(proxy: RunningProxy): Promise<void> {
  await proxy.request("initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "lifecycle-test", version: "1.0.0" },
  });
  proxy.child.stdin.write(
    `${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`,
  );
}

/** Opening the log as a writer works only when no other process holds it. */
async function logIsFree(dir: string): Promise<boolean> {
  const log = await FileAuditLog.open({ directory: join(dir, "audit") });
  await log.close();
  return true;
}

describe("agentgate-mcp-proxy as a long-running tool", () => {
  it(
    "L93: started from a folder without @agentgate/cedar it serves; when its client goes away (stdin closes) it exits 0 and releases the audit log",
    async () => {
      const dir = await directory();
      const proxy = startProxy(dir, tempFolder("agentgate-elsewhere-"));
      await initialize(proxy);
      const listed = (await proxy.request("tools/list")) as { tools: Array<{ name: string }> };
      expect(listed.tools.map((tool) => tool.name)).toEqual(["quit"]);
      proxy.child.stdin.end();
      expect(await proxy.exited()).toBe(0);
      // The next start works: the writer lock is free.
      expect(await logIsFree(dir)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "L93: when its upstream exits, the proxy exits (code 1) and releases the audit log",
    async () => {
      const dir = await directory();
      const proxy = startProxy(dir, tempFolder("agentgate-elsewhere-"));
      await initialize(proxy);
      const result = (await proxy.request("tools/call", { name: "quit", arguments: {} })) as {
        content: Array<{ text: string }>;
      };
      expect(result.content[0]?.text).toBe("bye");
      // stdin stays open: only the upstream's exit can stop it.
      expect(await proxy.exited()).toBe(1);
      expect(await logIsFree(dir)).toBe(true);
      const decisions: string[] = [];
      for await (const event of readAuditLog(join(dir, "audit"), { type: "decision" }))
        decisions.push(`${event.tool?.server}/${event.tool?.name} ${event.decision?.allowed}`);
      expect(decisions).toEqual(["quitting/quit true"]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "--version prints the package's version; a missing directory is configuration (3) saying what to do",
    () => {
      const { version } = JSON.parse(
        readFileSync(new URL("../package.json", import.meta.url), "utf8"),
      ) as { version: string };
      const run = spawnSync(process.execPath, [BIN, "--version"], {
        encoding: "utf8",
        timeout: BUDGET_MS,
      });
      expect(run.status).toBe(0);
      expect(run.stdout.trim()).toBe(version);
      const missing = spawnSync(
        process.execPath,
        [
          BIN,
          "--dir",
          join(tempFolder("agentgate-empty-"), "none"),
          "--server-id",
          "x",
          "--",
          "node",
        ],
        { encoding: "utf8", timeout: BUDGET_MS },
      );
      expect(missing.status).toBe(3);
      expect(missing.stderr).toMatch(/No AgentGate directory at .*agentgate init/);
    },
    TEST_TIMEOUT_MS,
  );
});
