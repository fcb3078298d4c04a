// Starts `agentgate serve --dir <a fresh copy of this example's .agentgate> --port 0` in a child
// process and resolves with its URL and a stop function. Shared by check.mjs and interop.mjs.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("bin.js", import.meta.resolve("@agentgate/cli")));
const source = fileURLToPath(new URL(".agentgate", import.meta.url));

/**
 * Serves a copy of this example's directory (its config.json and policies) on a free loopback
 * port. Each run gets a new directory, so a check leaves nothing behind in the example and starts
 * a new audit log: a log deleted and made again at one path is refused as a cut (SECURITY.md K80),
 * which is what a second run over the same directory would otherwise meet after a fresh clone.
 */
export async function serveExample() {
  const root = mkdtempSync(join(tmpdir(), "agentgate-authzen-todo-"));
  const directory = join(root, ".agentgate");
  cpSync(join(source, "config.json"), join(directory, "config.json"));
  cpSync(join(source, "policies"), join(directory, "policies"), { recursive: true });
  // The audit checkpoint key and the writer's checkpoints live outside the served directory, as in
  // production, but in this run's folder rather than in ~/.config, unless one is set already.
  const env = {
    AGENTGATE_CHECKPOINT_KEY_FILE: join(root, "audit-checkpoint-key.json"),
    ...process.env,
  };
  const child = spawn(process.execPath, [bin, "serve", "--dir", directory, "--port", "0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((resolve, reject) => {
    // Generous: a spawned process costs seconds on a loaded machine.
    const timer = setTimeout(
      () => reject(new Error(`agentgate serve did not start:\n${output}`)),
      60_000,
    );
    const read = (chunk) => {
      output += chunk;
      const found = /AgentGate server on (\S+?)\s/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      rmSync(root, { recursive: true, force: true });
      reject(new Error(`agentgate serve exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners("exit");
        child.once("exit", () => {
          rmSync(root, { recursive: true, force: true });
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** POSTs a JSON body and returns the parsed answer. */
export async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}
