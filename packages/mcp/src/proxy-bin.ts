#!/usr/bin/env node
// agentgate-mcp-proxy: start an MCP server you do not own over stdio and put AgentGate in front.
import { parseArgs } from "node:util";
import { CredentialProvider, type CredentialSource, isAgentGateError } from "@agentgate/core";
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
  -h, --help            this text

Exit codes: 0 done, 2 bad usage, 3 bad configuration.`;

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
  const [command, ...args] = positionals;
  if (command === undefined || values["server-id"] === undefined) {
    process.stderr.write(
      `agentgate-mcp-proxy: give --server-id and the command after --\n\n${USAGE}\n`,
    );
    return 2;
  }
  const gate = await createGate({ directory: values.dir ?? ".agentgate" });
  let credential: CredentialSource | undefined = process.env.AGENTGATE_TOKEN || undefined;
  if (values.agent !== undefined) {
    const authority = gate.authority;
    if (authority === undefined) throw new Error("createGate always has an authority");
    credential = CredentialProvider.forAgent(authority, values.agent, {
      audience: gate.audience,
      ...(values.scope === undefined ? {} : { scope: values.scope }),
    });
  }
  const upstream = new Client({ name: "agentgate-mcp-proxy", version: "0.1.0" });
  // The child gets the SDK's default environment (PATH, HOME and the like), never AGENTGATE_TOKEN.
  await upstream.connect(new StdioClientTransport({ command, args, stderr: "inherit" }));
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
  const closed = new Promise<void>((resolve) => {
    proxy.onclose = resolve;
  });
  await proxy.connect(new StdioServerTransport());
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => void proxy.close());
  await closed;
  await upstream.close();
  await gate.close();
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
    },
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `agentgate-mcp-proxy: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = isAgentGateError(error) ? 3 : 1;
  },
);
