import {
  AgentGateError,
  type CredentialSource,
  createCallProof,
  createDpopProof,
  type DpopKey,
} from "@agentgate/core";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { PROOF_META_KEY, TOKEN_META_KEY } from "./token-meta.js";

type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

async function tokenOf(credential: CredentialSource): Promise<string> {
  return typeof credential === "string" ? credential : credential.token();
}

/**
 * A `fetch` for `StreamableHTTPClientTransport` that puts the agent's token in
 * `Authorization: Bearer` on every request to the MCP server it was issued for, and refuses
 * any other destination outright: the token never leaves for a server that is not its audience
 * (SECURITY.md F49, RFC 8707). `resource` is the server's resource URL, the tokens' audience.
 *
 * @example
 * ```ts
 * const credential = CredentialProvider.forAgent(authority, agentId, { audience: "https://mcp.acme.example/mcp" });
 * const transport = new StreamableHTTPClientTransport(new URL("https://mcp.acme.example/mcp"),
 *   { fetch: agentGateFetch({ credential, resource: "https://mcp.acme.example/mcp" }) });
 * ```
 */
export function agentGateFetch(options: {
  credential: CredentialSource;
  resource: string;
  fetch?: FetchLike;
  /**
   * `"dpop"`: send the token as `Authorization: DPoP` with a fresh proof (RFC 9449) signed by
   * `key` on every request, for tokens bound to that key (`issueToken({ confirmation: { jkt: key.jkt } })`).
   */
  proof?: "dpop";
  /** The agent's DPoP key (`generateDpopKey()`), required with `proof: "dpop"`. */
  key?: DpopKey;
}): FetchLike {
  if (options.proof === "dpop" && options.key === undefined) {
    throw new AgentGateError("invalid_configuration", 'proof: "dpop" needs the agent\'s key.');
  }
  const resource = new URL(options.resource);
  const send = options.fetch ?? globalThis.fetch;
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (url.origin !== resource.origin || !url.pathname.startsWith(resource.pathname)) {
      throw new AgentGateError(
        "invalid_configuration",
        `Refusing to send the agent token to ${url.origin}${url.pathname}: it was issued for ${resource.href}.`,
      );
    }
    const headers = new Headers(
      init?.headers ?? (input instanceof Request ? input.headers : undefined),
    );
    const token = await tokenOf(options.credential);
    if (options.proof === "dpop" && options.key !== undefined) {
      const method = init?.method ?? (input instanceof Request ? input.method : "GET");
      headers.set("authorization", `DPoP ${token}`);
      headers.set("dpop", await createDpopProof(options.key, { method, url, accessToken: token }));
    } else {
      headers.set("authorization", `Bearer ${token}`);
    }
    return send(input, { ...init, headers, redirect: "error" });
  };
}

/**
 * Returns the client with every `callTool` and `listTools` carrying the agent's token in
 * `params._meta["dev.agentgate/token"]`, for transports without HTTP headers (stdio,
 * in-memory). Bind one credential per server: its audience is that server.
 *
 * With `key` (the agent's proof key, for tokens issued with `confirmation: { jkt: key.jkt }`),
 * each request also carries a fresh call proof in `params._meta["dev.agentgate/proof"]`
 * (`createCallProof`): the tool name, the arguments' hash, the token's hash, a time and a nonce,
 * signed by the key. A thief with the token alone cannot call (SECURITY.md M109).
 *
 * @example
 * ```ts
 * const key = await generateDpopKey();
 * const credential = CredentialProvider.forAgent(authority, agentId, { audience: "mcp://crm", confirmation: { jkt: key.jkt } });
 * const tools = withAgentToken(client, credential, { key });
 * ```
 */
export function withAgentToken<C extends Pick<Client, "callTool" | "listTools">>(
  client: C,
  credential: CredentialSource,
  options: { readonly key?: DpopKey } = {},
): C {
  const key = options.key;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "callTool" || property === "listTools") {
        return async (
          params:
            | { _meta?: Record<string, unknown>; name?: string; arguments?: unknown }
            | undefined,
          ...rest: unknown[]
        ) => {
          const token = await tokenOf(credential);
          const proof =
            key === undefined
              ? undefined
              : await createCallProof(
                  key,
                  property === "callTool"
                    ? {
                        method: "tools/call",
                        ...(params?.name === undefined ? {} : { tool: params.name }),
                        arguments: params?.arguments,
                        accessToken: token,
                      }
                    : { method: "tools/list", accessToken: token },
                );
          const call = (target[property] as (...args: unknown[]) => Promise<unknown>).bind(target);
          return call(
            {
              ...params,
              _meta: {
                ...params?._meta,
                [TOKEN_META_KEY]: token,
                ...(proof === undefined ? {} : { [PROOF_META_KEY]: proof }),
              },
            },
            ...rest,
          );
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
