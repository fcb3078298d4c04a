import {
  type CredentialSource,
  type Gate,
  type InvocationMetadata,
  isAgentGateError,
  isToolName,
  parseServerId,
  type ToolDescriptor,
} from "@agentgate/core";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { type CallProofOptions, callProofSettings, checkCallProof } from "./call-proof-check.js";
import { inputSchemaOf } from "./input-schema.js";
import { checkToolCallProof, deniedResult, refuseUnknownTool } from "./refusal.js";
import { describe, type McpToolPolicy } from "./server-guard.js";
import { tokenFromMeta } from "./token-meta.js";
import { ToolErrorResult, throwIfToolError } from "./tool-error.js";
import { type PinToolsOptions, pinTools } from "./tool-pins.js";

const UNKNOWN_NAME_RELIST_MS = 1000;

/** The upstream server, as a connected SDK `Client` (stdio, Streamable HTTP, in-memory). */
export type McpUpstream = Pick<Client, "listTools" | "callTool">;

/** Options of {@link createMcpProxy}. */
export interface McpProxyOptions {
  /** The gate every proxied call goes through. */
  readonly gate: Gate;
  /** The upstream server's identity: its tools are `<serverId>/<tool>` in policy and audit. */
  readonly serverId: string;
  /** An MCP client connected to the server being proxied (its `listTools` and `callTool`). */
  readonly upstream: McpUpstream;
  /**
   * The identity of callers whose requests carry no `_meta` token: a proxy started for one agent
   * (a `CredentialProvider`, refreshed as needed, or a token). Without it, such requests are
   * denied and `tools/list` is empty.
   */
  readonly credential?: CredentialSource;
  /** Policy mapping per upstream tool name. */
  readonly tools?: Readonly<Record<string, McpToolPolicy>>;
  /**
   * Take the action kind from the upstream tools' annotations (`readOnlyHint` → read). Default
   * `false`: a server you do not own can claim anything, so its tools are `execute` unless
   * `tools` says otherwise.
   */
  readonly trustAnnotations?: boolean;
  /** Pin the upstream tools against rug pulls (SECURITY.md F50). */
  readonly pins?: Omit<PinToolsOptions, "serverId">;
  /** The name this proxy gives itself to its clients. Default `agentgate-proxy/<serverId>`. */
  readonly name?: string;
  /**
   * Call proofs beside `_meta` tokens (`withAgentToken(client, credential, { key })`), checked
   * as `guardMcpServer` checks them (SECURITY.md M109–M111): replay cache, window, clock.
   */
  readonly callProofs?: CallProofOptions;
}

/**
 * An MCP server that fronts an upstream server you do not own with identity, policy and audit.
 * It offers the upstream's tools only (no resources, prompts or sampling pass through, so
 * nothing goes around the gate): `tools/list` shows each caller the tools it could be permitted
 * to call, and every `tools/call` runs through `gate.invoke` before it is forwarded. Only the
 * tool name and the arguments the policy saw are forwarded: never the caller's `_meta`, so the
 * agent's token does not leave for the upstream (SECURITY.md F49). A denial is a
 * `CallToolResult` with `isError: true` and the safe reason.
 *
 * Names are taken in their canonical form only (SECURITY.md L88): `serverId` must be one
 * (else `invalid_configuration`); a tool the upstream announces under a name that is not (a
 * zero-width character, a look-alike letter, upper case...) is never listed nor forwarded; and a
 * call naming one is denied by the gate as `invalid_arguments`, audited, before any policy.
 *
 * Connect the returned server to any transport (`StdioServerTransport` for a stdio proxy; the
 * `agentgate-mcp-proxy` command does exactly that).
 *
 * @example
 * ```ts
 * const upstream = new Client({ name: "agentgate-proxy", version: "1.0.0" });
 * await upstream.connect(new StdioClientTransport({ command: "npx", args: ["@modelcontextprotocol/server-everything"] }));
 * const proxy = createMcpProxy({ gate, serverId: "everything", upstream, credential });
 * await proxy.connect(new StdioServerTransport());
 * ```
 */
export function createMcpProxy(options: McpProxyOptions): Server {
  parseServerId(options.serverId, "declared");
  const upstream =
    options.pins === undefined
      ? options.upstream
      : pinTools(options.upstream, { ...options.pins, serverId: options.serverId });
  let known = new Map<string, { tool: Tool; descriptor: ToolDescriptor }>();
  let listing: Promise<typeof known> | undefined;
  let listedAt = Number.NEGATIVE_INFINITY;

  /** The upstream's tools, listed anew; concurrent callers share one listing. */
  function refresh(): Promise<typeof known> {
    listing ??= list().finally(() => {
      listing = undefined;
      listedAt = Date.now();
    });
    return listing;
  }

  /**
   * The entry for `name`. A name not seen in the last listing lists the upstream again, at most
   * once a second: callers naming tools that do not exist cannot make every call a full listing.
   */
  async function entryFor(name: string) {
    const entry = known.get(name);
    if (entry !== undefined || Date.now() - listedAt < UNKNOWN_NAME_RELIST_MS) return entry;
    return (await refresh()).get(name);
  }

  async function list(): Promise<typeof known> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    // Follow pagination, bounded so that a misbehaving upstream cannot loop us forever.
    for (let page = 0; page < 100; page++) {
      const listed = await upstream.listTools(cursor === undefined ? undefined : { cursor });
      tools.push(...listed.tools);
      cursor = listed.nextCursor;
      if (cursor === undefined) break;
    }
    known = new Map(
      // An upstream's name that is not canonical could pass for another tool's: never offered.
      tools
        .filter((tool) => isToolName(tool.name))
        .map((tool) => [
          tool.name,
          {
            tool,
            descriptor: {
              ...describe(options, tool.name, {
                ...(tool.description === undefined ? {} : { description: tool.description }),
                ...(options.trustAnnotations === true && tool.annotations !== undefined
                  ? { annotations: tool.annotations }
                  : {}),
              }),
              // Arguments the upstream would refuse are denied (and audited) before policy (L92).
              schema: inputSchemaOf(tool.inputSchema),
            },
          },
        ]),
    );
    return known;
  }

  const server = new Server(
    { name: options.name ?? `agentgate-proxy/${options.serverId}`, version: "0.1.0" },
    { capabilities: { tools: {} } },
  );
  const credentialOf = (meta: Record<string, unknown> | undefined) =>
    tokenFromMeta(meta) ?? options.credential;
  const proofs = callProofSettings(options.callProofs);
  /** The gate's metadata for a request whose call proof, if it had one, named `thumbprint`. */
  const metadataOf = (thumbprint: string | undefined): InvocationMetadata =>
    thumbprint === undefined
      ? { framework: "mcp-proxy" }
      : { framework: "mcp-proxy", proofOfPossession: "call", proofThumbprint: thumbprint };

  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    const credential = credentialOf(request.params?._meta);
    if (credential === undefined) return { tools: [] };
    let metadata: InvocationMetadata;
    try {
      const meta = request.params?._meta;
      metadata = metadataOf(
        await checkCallProof(proofs, tokenFromMeta(meta), meta, { method: "tools/list" }),
      );
    } catch (error) {
      if (isAgentGateError(error)) return { tools: [] };
      throw error;
    }
    const entries = [...(await refresh()).values()];
    const allowed = await Promise.all(
      entries.map(
        async ({ descriptor }) =>
          (await options.gate.check({ tool: descriptor, credential, metadata })).allowed,
      ),
    );
    return { tools: entries.filter((_, index) => allowed[index]).map(({ tool }) => tool) };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    const { name } = request.params;
    try {
      // No token, or a name upstream does not list: the gate's denial to record (K85).
      const credential = credentialOf(request.params._meta);
      // Without a token, nothing is listed upstream: the refusal below records token_invalid.
      // The gate refuses a name that is not canonical, and audits the refusal (L88).
      const entry =
        credential === undefined
          ? undefined
          : isToolName(name)
            ? await entryFor(name)
            : { descriptor: { name, server: options.serverId } };
      if (entry === undefined) {
        const denial = await refuseUnknownTool(options.gate, options.serverId, {
          name,
          arguments: request.params.arguments,
          credential,
          framework: "mcp-proxy",
        });
        return denial.code === "access_denied"
          ? errorResult(`Unknown tool: ${name.slice(0, 256)}`)
          : deniedResult(denial);
      }
      const checked = await checkToolCallProof(options.gate, proofs, {
        name,
        arguments: request.params.arguments,
        meta: request.params._meta,
        token: tokenFromMeta(request.params._meta),
        tool: entry.descriptor,
        credential,
        framework: "mcp-proxy",
      });
      if ("denial" in checked) return deniedResult(checked.denial);
      return await options.gate.invoke(
        {
          tool: entry.descriptor,
          arguments: request.params.arguments ?? {},
          credential,
          metadata: metadataOf(checked.thumbprint),
        },
        async (args) => {
          const result = (await upstream.callTool({
            name,
            arguments: args as Record<string, unknown>,
          })) as CallToolResult;
          // The upstream's own refusal is a failed call in the audit log, not a success (L92).
          return throwIfToolError(result);
        },
      );
    } catch (error) {
      if (error instanceof ToolErrorResult) return error.result;
      if (!isAgentGateError(error)) throw error;
      return deniedResult(error);
    }
  });
  return server;
}

function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text }] };
}
