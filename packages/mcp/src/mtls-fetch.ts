import { Agent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import type { PeerCertificate } from "node:tls";

type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of {@link mtlsFetch}. */
export interface MtlsFetchOptions {
  /** The agent's private key (PEM, `key.pem`): it never leaves this process. */
  readonly key: string | Buffer;
  /** The agent's certificate chain (PEM, `cert.pem`). */
  readonly cert: string | Buffer;
  /** The CAs the server's certificate must chain to (`bundle.pem`). */
  readonly ca: string | Buffer;
  /**
   * Checks the server's certificate beyond its chain. Default: node's host name check. For a
   * server with an SVID, check its URI SAN instead (SPIFFE authenticates by id, not host name).
   */
  readonly checkServerIdentity?: (host: string, certificate: PeerCertificate) => Error | undefined;
}

/**
 * A `fetch` over `node:https` that presents the agent's client certificate (mutual TLS), for
 * `StreamableHTTPClientTransport({ fetch })`: Node's built-in `fetch` cannot send one. Keeps
 * connections alive, so the handshake is paid once per connection, not per call. Streams the
 * response body (SSE works). Request bodies are strings or bytes, as the MCP SDK sends them.
 *
 * @example
 * ```ts
 * const fetch = mtlsFetch({ key: readFileSync("key.pem"), cert: readFileSync("cert.pem"), ca: readFileSync("bundle.pem") });
 * await client.connect(new StreamableHTTPClientTransport(new URL("https://crm:8443/mcp"), { fetch }));
 * ```
 */
export function mtlsFetch(options: MtlsFetchOptions): FetchLike & { close(): void } {
  const agent = new Agent({
    key: options.key,
    cert: options.cert,
    ca: options.ca,
    keepAlive: true,
    minVersion: "TLSv1.2",
    ...(options.checkServerIdentity === undefined
      ? {}
      : { checkServerIdentity: options.checkServerIdentity }),
  });
  const send = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const original = input instanceof Request ? input : undefined;
    const url = new URL(original === undefined ? input.toString() : original.url);
    if (url.protocol !== "https:") throw new TypeError("mtlsFetch sends over https only.");
    const method = (init?.method ?? original?.method ?? "GET").toUpperCase();
    const headers = new Headers(init?.headers ?? original?.headers);
    const body = init?.body ?? (original === undefined ? undefined : await original.text());
    if (
      body !== undefined &&
      body !== null &&
      typeof body !== "string" &&
      !(body instanceof Uint8Array)
    ) {
      throw new TypeError("mtlsFetch sends string or byte bodies only.");
    }
    return new Promise<Response>((resolve, reject) => {
      const outgoing = httpsRequest(
        url,
        {
          method,
          headers: Object.fromEntries(headers),
          agent,
          ...(init?.signal == null ? {} : { signal: init.signal }),
        },
        (incoming) => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (Array.isArray(value))
              for (const entry of value) responseHeaders.append(name, entry);
            else if (value !== undefined) responseHeaders.set(name, value);
          }
          const status = incoming.statusCode ?? 502;
          const empty = method === "HEAD" || status === 204 || status === 304;
          if (empty) incoming.resume();
          resolve(
            new Response(
              empty ? null : (Readable.toWeb(incoming) as unknown as ReadableStream<Uint8Array>),
              { status, statusText: incoming.statusMessage ?? "", headers: responseHeaders },
            ),
          );
        },
      );
      outgoing.on("error", reject);
      outgoing.end(body ?? undefined);
    });
  };
  return Object.assign(send, { close: () => agent.destroy() });
}
