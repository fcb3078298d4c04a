import {
  type ActionKind,
  AgentGateError,
  type Gate,
  type InvocationMetadata,
  isAgentGateError,
  parseServerId,
  parseToolName,
  type ToolDescriptor,
} from "@agentgate/core";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type ListToolsResult,
  type ToolAnnotations,
} from "@modelcontextprotocol/sdk/types.js";
import {
  type CallProofOptions,
  type CallProofSettings,
  callProofSettings,
  checkCallProof,
} from "./call-proof-check.js";
import { PROOF_OF_POSSESSION_KEY, PROOF_THUMBPRINT_KEY } from "./http-auth.js";
import { certificateFromAuthInfo } from "./mtls.js";
import { checkToolCallProof, deniedResult, refuseUnknownTool } from "./refusal.js";
import { tokenFromMeta } from "./token-meta.js";
import { ToolErrorResult, throwIfToolError } from "./tool-error.js";

/** How a tool maps to policy (else from its annotations). */
export interface McpToolPolicy {
  readonly action?: ActionKind;
  readonly resources?: Readonly<Record<string, string>>;
}

/** Options of {@link guardMcpServer}. */
export interface GuardMcpServerOptions {
  /** The gate every tool call of this server goes through. */
  readonly gate: Gate;
  /**
   * This server's identity: tools are named `<serverId>/<tool>` in policy and audit, so two
   * servers' tools of the same name never share rules (SECURITY.md I66).
   */
  readonly serverId: string;
  /** Policy mapping per tool name (action kind, resources). Default: from the tools' annotations. */
  readonly tools?: Readonly<Record<string, McpToolPolicy>>;
  /** Show each caller only the tools it could be permitted to call. Default `true`. */
  readonly filterToolsList?: boolean;
  /**
   * Call proofs (`_meta["dev.agentgate/proof"]`, `withAgentToken(client, credential, { key })`):
   * where their `jti`s are remembered (default: a `MemoryReplayCache` of this server) and the
   * allowed `iat` distance in seconds (default 60). A proof present is always checked; a
   * key-bound token without one is refused by the gate.
   */
  readonly callProofs?: CallProofOptions;
}

/** Set on `extra` by the `tools/call` wrapper: the key thumbprint a valid call proof named. */
const CALL_PROOF = Symbol("agentgate.callProof");

interface Extra {
  _meta?: Record<string, unknown>;
  authInfo?: { token: string; extra?: Record<string, unknown> };
  [CALL_PROOF]?: string;
}

/** The gate's metadata: MCP, and which proof of possession was checked for this request. */
function metadataOf(extra: Extra, callProof = extra[CALL_PROOF]): InvocationMetadata {
  if (callProof !== undefined) {
    return { framework: "mcp", proofOfPossession: "call", proofThumbprint: callProof };
  }
  const proof = extra.authInfo?.extra?.[PROOF_OF_POSSESSION_KEY];
  const thumbprint = extra.authInfo?.extra?.[PROOF_THUMBPRINT_KEY];
  if (proof !== "dpop" && proof !== "mtls") return { framework: "mcp" };
  return {
    framework: "mcp",
    proofOfPossession: proof,
    ...(typeof thumbprint === "string" ? { proofThumbprint: thumbprint } : {}),
  };
}

/** The caller's credential: a verified mTLS chain, else the HTTP bearer, else `_meta`'s token. */
function credentialOf(extra: Extra, meta: Record<string, unknown> | undefined) {
  return certificateFromAuthInfo(extra.authInfo) ?? extra.authInfo?.token ?? tokenFromMeta(meta);
}

type Handler = (...args: unknown[]) => unknown;
type ToolConfig = { annotations?: ToolAnnotations; description?: string; inputSchema?: unknown };

/**
 * Puts every tool of an `McpServer` behind the gate. Call it before registering tools. Each
 * call runs through `gate.invoke` with the identity from the HTTP bearer token (`authInfo`) or
 * from `params._meta["dev.agentgate/token"]`; no token, a token for another audience or a bad
 * token means the tool does not run (F48). A denial is a `CallToolResult` with `isError: true`
 * and the safe reason only; MCP protocol errors are left to the SDK. The action kind comes from
 * the tool's policy, else its annotations (`readOnlyHint` → read, `destructiveHint` → delete,
 * otherwise execute). Annotations come from the server's own code here, so they are trusted.
 * The server id, and each tool's name as it is registered, must be canonical (lowercase ASCII,
 * see `parseToolName`): otherwise `invalid_configuration` is thrown (SECURITY.md L88).
 *
 * @example
 * ```ts
 * const server = new McpServer({ name: "crm", version: "1.0.0" });
 * guardMcpServer(server, { gate, serverId: "crm" });
 * server.registerTool("lookup", { inputSchema: { customerId: z.string() }, annotations: { readOnlyHint: true } }, handler);
 * ```
 */
export function guardMcpServer(server: McpServer, options: GuardMcpServerOptions): void {
  parseServerId(options.serverId, "declared");
  const proofs = callProofSettings(options.callProofs);
  const descriptors = new Map<string, ToolDescriptor>();
  const register = server.registerTool.bind(server) as (
    name: string,
    config: ToolConfig,
    callback: Handler,
  ) => unknown;
  let listGuarded = false;
  (server as unknown as { registerTool: typeof register }).registerTool = (
    name,
    config,
    callback,
  ) => {
    // A tool whose name policy could confuse with another's is never registered (L88).
    parseToolName(name, "declared");
    const descriptor = describe(options, name, config);
    descriptors.set(name, descriptor);
    const guarded = async (args: unknown, extra: Extra) => {
      try {
        // No token is the gate's denial to record (K85), not ours to throw.
        const credential = credentialOf(extra, extra._meta);
        return await options.gate.invoke(
          { tool: descriptor, arguments: args ?? {}, credential, metadata: metadataOf(extra) },
          // The tool gets the arguments the policy saw (the gate's frozen copy), never the request's.
          // A result with isError: true is recorded as a failed call, not a success (L92).
          async (valid) =>
            throwIfToolError(
              await (config.inputSchema === undefined
                ? callback(extra)
                : callback({ ...valid }, extra)),
            ),
        );
      } catch (error) {
        if (error instanceof ToolErrorResult) return error.result;
        if (!isAgentGateError(error)) throw error;
        return deniedResult(error);
      }
    };
    const handler =
      config.inputSchema === undefined ? (extra: Extra) => guarded(undefined, extra) : guarded;
    const registered = register(name, config, handler as Handler);
    if (!listGuarded) {
      listGuarded = true;
      if (options.filterToolsList !== false) {
        filterToolsList(server, options.gate, descriptors, proofs);
      }
      refuseUnknownTools(server, options, descriptors, proofs);
    }
    return registered;
  };
}

/**
 * The SDK's own handler for `method`, which the guard wraps: `invalid_configuration` when this
 * SDK version keeps none where the guard looks.
 */
function sdkHandler<H>(server: McpServer, method: "tools/call" | "tools/list"): H {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, H> })
    ._requestHandlers;
  const original = handlers?.get(method);
  if (original === undefined) {
    throw new AgentGateError(
      "invalid_configuration",
      `This MCP SDK version has no ${method} handler to guard.`,
    );
  }
  return original;
}

/**
 * Wraps the server's `tools/call` handler so that a call naming no registered tool, which the SDK
 * would refuse on its own, is an audited denial through the gate first (SECURITY.md K85), and a
 * call proof in `_meta` is checked over the raw arguments before the SDK parses them; a bad one
 * is an audited denial too.
 */
function refuseUnknownTools(
  server: McpServer,
  options: GuardMcpServerOptions,
  descriptors: ReadonlyMap<string, ToolDescriptor>,
  proofs: CallProofSettings,
): void {
  const original = sdkHandler<(request: CallToolRequest, extra: Extra) => Promise<unknown>>(
    server,
    "tools/call",
  );
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    const meta = request.params._meta as Record<string, unknown> | undefined;
    const known = descriptors.get(name);
    if (known !== undefined) {
      const checked = await checkToolCallProof(options.gate, proofs, {
        name,
        arguments: request.params.arguments,
        meta,
        token: (extra as Extra).authInfo?.token ?? tokenFromMeta(meta),
        tool: known,
        credential: credentialOf(extra as Extra, meta),
        framework: "mcp",
      });
      if ("denial" in checked) return deniedResult(checked.denial) as never;
      const { thumbprint } = checked;
      const proven = thumbprint === undefined ? extra : { ...extra, [CALL_PROOF]: thumbprint };
      return original(request, proven as Extra) as never;
    }
    const denial = await refuseUnknownTool(options.gate, options.serverId, {
      name,
      arguments: request.params.arguments,
      credential: credentialOf(extra as Extra, meta),
      framework: "mcp",
    });
    return deniedResult(denial);
  });
}

/** The gate's view of an MCP tool. */
export function describe(
  options: Pick<GuardMcpServerOptions, "serverId" | "tools">,
  name: string,
  config: ToolConfig,
): ToolDescriptor {
  const policy = options.tools?.[name];
  const annotations = config.annotations;
  const action =
    policy?.action ??
    (annotations?.readOnlyHint === true
      ? "read"
      : annotations?.destructiveHint === true
        ? "delete"
        : "execute");
  return {
    name,
    server: options.serverId,
    action,
    ...(config.description === undefined ? {} : { description: config.description }),
    ...(policy?.resources === undefined ? {} : { resources: policy.resources }),
  };
}

/**
 * Replaces the server's `tools/list` handler with one that asks the gate, without arguments,
 * which tools the caller could be permitted to call, and lists only those. A caller without a
 * token sees none.
 */
function filterToolsList(
  server: McpServer,
  gate: Gate,
  descriptors: ReadonlyMap<string, ToolDescriptor>,
  proofs: CallProofSettings,
): void {
  const original = sdkHandler<(request: unknown, extra: Extra) => Promise<ListToolsResult>>(
    server,
    "tools/list",
  );
  server.server.setRequestHandler(ListToolsRequestSchema, async (request, extra) => {
    const listed = await original(request, extra as Extra);
    const meta = request.params?._meta as Record<string, unknown> | undefined;
    const credential = credentialOf(extra as Extra, meta);
    if (credential === undefined) return { ...listed, tools: [] };
    let thumbprint: string | undefined;
    try {
      thumbprint = await checkCallProof(
        proofs,
        (extra as Extra).authInfo?.token ?? tokenFromMeta(meta),
        meta,
        { method: "tools/list" },
      );
    } catch (error) {
      if (isAgentGateError(error)) return { ...listed, tools: [] };
      throw error;
    }
    const metadata = metadataOf(extra as Extra, thumbprint);
    const checks = await Promise.all(
      listed.tools.map(async (tool) => {
        const descriptor = descriptors.get(tool.name);
        return (
          descriptor !== undefined &&
          (await gate.check({ tool: descriptor, credential, metadata })).allowed
        );
      }),
    );
    return { ...listed, tools: listed.tools.filter((_, index) => checks[index]) };
  });
}
