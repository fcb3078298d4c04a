// Starts `agentgate serve --dir <this example>/.agentgate --port 0` in a child process and
// resolves with its URL and a stop function. Shared by check.mjs and interop.mjs.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("bin.js", import.meta.resolve("@agentgate/cli")));
const directory = fileURLToPath(new URL(".agentgate", import.meta.url));

/** Serves this example's directory on a free loopback port. */
export async function serveExample() {
  const child = spawn(process.execPath, [bin, "serve", "--dir", directory, "--port", "0"], {
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
      reject(new Error(`agentgate serve exited (${code}):\n${output}`));
    });
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.removeAllListeners("exit");
        child.once("exit", resolve);
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
