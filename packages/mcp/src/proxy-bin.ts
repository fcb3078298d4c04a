#!/usr/bin/env node
// agentgate-mcp-proxy: start an MCP server you do not own over stdio and put AgentGate in front.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CedarPolicyClient } from "@agentgate/cedar";
import {
  AgentGateError,
  CredentialProvider,
  type CredentialSource,
  isAgentGateError,
} from "@agentgate/core";
import { createGate } from "@agentgate/core/node";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createMcpProxy } from "./proxy.js";
import { ToolPins } from "./tool-pins.js";

const USAGE = `Usage: agentgate-mcp-proxy [options] -- <command> [args...]

Starts <command> as an MCP server over stdio and serves its tools on this process's stdio,
each call checked by AgentGate (identity, policy, audit) before it is forwarded.

Options:
  --dir <path>          the AgentGate directory (default .agentgate; see \`agentgate init\`)
  --server-id <id>      the upstream's name in policy and audit (required), e.g. everything
  --agent <id>          act as this registered agent: tokens are minted and refreshed from the
                        directory's keys (else AGENTGATE_TOKEN, else only _meta tokens)
  --scope <scope>       a scope of the minted tokens (repeatable)
  --pins <file>         pin the upstream tools' fingerprints in <file>; changed tools are refused
  --trust-annotations   take read/delete from the upstream's tool annotations
  --version             print the version
  -h, --help            this text

It stops, closing the audit log, when its client goes away (stdin closes), on SIGINT or SIGTERM,
or when the upstream exits.

Exit codes: 0 done, 1 the upstream exited or failed, 2 bad usage, 3 bad configuration.`;

/** This package's version, from its package.json. */
function version(): string {
  const manifest = JSON.parse(
    readFileSync(new URL("../package.json", import.meta.url), "utf8"),
  ) as { version: string };
  return manifest.version;
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    process.stderr.write(`agentgate-mcp-proxy: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const [command, ...args] = positionals;
  if (command === undefined || values["server-id"] === undefined) {
    process.stderr.write(
      `agentgate-mcp-proxy: give --server-id and the command after --\n\n${USAGE}\n`,
    );
    return 2;
  }
  const directory = values.dir ?? ".agentgate";
  // The policy engine is this package's own dependency: started from any folder, the proxy does
  // not depend on @agentgate/cedar being installed where it runs.
  if (!existsSync(join(directory, "config.json"))) {
    throw new AgentGateError(
      "invalid_configuration",
      `No AgentGate directory at ${directory}: run \`agentgate init\` there, or pass --dir.`,
    );
  }
  let policy: CedarPolicyClient;
  try {
    policy = await CedarPolicyClient.fromDirectory(join(directory, "policies"), { watch: true });
  } catch (error) {
    if (isAgentGateError(error)) throw error;
    throw new AgentGateError(
      "policy_invalid",
      `Cannot read the policies in ${join(directory, "policies")}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  let gate: Awaited<ReturnType<typeof createGate>>;
  try {
    gate = await createGate({ directory, policy });
  } catch (error) {
    await policy.close();
    throw error;
  }
  let credential: CredentialSource | undefined = process.env.AGENTGATE_TOKEN || undefined;
  if (values.agent !== undefined) {
    const authority = gate.authority;
    if (authority === undefined) throw new Error("createGate always has an authority");
    credential = CredentialProvider.forAgent(authority, values.agent, {
      audience: gate.audience,
      ...(values.scope === undefined ? {} : { scope: values.scope }),
    });
  }
  const upstream = new Client({ name: "agentgate-mcp-proxy", version: version() });
  // The child gets the SDK's default environment (PATH, HOME and the like), never AGENTGATE_TOKEN.
  try {
    await upstream.connect(new StdioClientTransport({ command, args, stderr: "inherit" }));
  } catch (error) {
    await gate.close();
    throw error;
  }
  const proxy = createMcpProxy({
    gate,
    serverId: values["server-id"],
    upstream,
    ...(credential === undefined ? {} : { credential }),
    ...(values["trust-annotations"] === true ? { trustAnnotations: true } : {}),
    ...(values.pins === undefined
      ? {}
      : { pins: { pins: new ToolPins(values.pins), audit: gate.audit } }),
  });
  // Whichever comes first ends the proxy: a proxy left running would hold the audit log's
  // writer lock, and every later start would fail (SECURITY.md L93).
  const stopped = new Promise<"client" | "upstream">((resolve) => {
    proxy.onclose = () => resolve("client");
    process.stdin.once("end", () => resolve("client"));
    process.stdin.once("close", () => resolve("client"));
    upstream.onclose = () => resolve("upstream");
    for (const signal of ["SIGINT", "SIGTERM"] as const)
      process.once(signal, () => resolve("client"));
  });
  await proxy.connect(new StdioServerTransport());
  const reason = await stopped;
  await proxy.close().catch(() => undefined);
  await upstream.close().catch(() => undefined);
  await gate.close();
  if (reason === "upstream") {
    process.stderr.write("agentgate-mcp-proxy: the upstream server exited; stopping.\n");
    return 1;
  }
  return 0;
}

function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      "server-id": { type: "string" },
      agent: { type: "string" },
      scope: { type: "string", multiple: true },
      pins: { type: "string" },
      "trust-annotations": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
    },
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    // Everything is closed; a handle some dependency left open must not keep a finished proxy
    // (and nothing else) alive. Unref'd: a clean exit does not wait for it.
    setTimeout(() => process.exit(), 5000).unref();
  },
  (error: unknown) => {
    process.stderr.write(
      `agentgate-mcp-proxy: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = isAgentGateError(error) ? 3 : 1;
    setTimeout(() => process.exit(), 5000).unref();
  },
);
