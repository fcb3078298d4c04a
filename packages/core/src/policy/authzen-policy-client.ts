import { AgentGateError, isAgentGateError } from "../errors.js";
import type { AccessRequest } from "./access-request.js";
import {
  type AuthZenMapping,
  accessRequestToWire,
  decisionFromWire,
  decisionsFromWire,
} from "./authzen-wire.js";
import type { Decision } from "./decision.js";
import type { EvaluateOptions, PolicyClient } from "./policy-client.js";

export type { AuthZenMapping } from "./authzen-wire.js";

/** Options of {@link AuthZenPolicyClient}. */
export interface AuthZenPolicyClientOptions {
  /** The PDP's base URL, e.g. `https://pdp.acme.example`. */
  readonly baseUrl: string;
  /** Override of the single-evaluation endpoint. Default `<baseUrl>/access/v1/evaluation`. */
  readonly evaluationUrl?: string;
  /** Override of the batch endpoint. Default `<baseUrl>/access/v1/evaluations`. */
  readonly evaluationsUrl?: string;
  /** A bearer token for the PDP, or a function returning a fresh one. */
  readonly token?: string | (() => Promise<string>);
  /** Per-request timeout. Default 1,000 ms. */
  readonly timeoutMs?: number;
  /**
   * `agent` (default): subject = the acting agent, principal and chain in its properties.
   * `coaz-mcp`: subject = the principal (the human, or the agent when it acts for itself), the
   * acting agent in `context.agent`, as the COAZ-MCP profile expects.
   */
  readonly mapping?: AuthZenMapping;
  /** The HTTP client. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * A `PolicyClient` for any OpenID AuthZEN 1.0 PDP over HTTP (the AgentGate server, Topaz, Cerbos,
 * OpenFGA or OPA behind AuthZEN). Fails closed on every fault: connection refused (after one
 * retry), timeout, an HTTP error status, a body that is not JSON, or one without a boolean
 * `decision` all reject with `policy_unavailable`, and the gate denies (SECURITY.md C28). An
 * answer arriving after the timeout is discarded (I63). A deny is HTTP 200 with
 * `decision: false` (AuthZEN §6); `context.reason_admin` / `context.reason_user` become the
 * decision's reasons, `context.obligations` (strings) its obligations.
 *
 * @example
 * ```ts
 * const policy = await AuthZenPolicyClient.discover("https://pdp.acme.example", { token });
 * ```
 */
export class AuthZenPolicyClient implements PolicyClient {
  readonly #options: AuthZenPolicyClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: AuthZenPolicyClientOptions) {
    try {
      new URL(options.baseUrl);
    } catch {
      throw new AgentGateError(
        "invalid_configuration",
        `Invalid PDP base URL "${options.baseUrl}".`,
      );
    }
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * Reads `<baseUrl>/.well-known/authzen-configuration` and builds a client for the endpoints it
   * names. Its `policy_decision_point` must equal `baseUrl` (mix-up protection, AuthZEN §9).
   */
  static async discover(
    baseUrl: string,
    options: Omit<AuthZenPolicyClientOptions, "baseUrl" | "evaluationUrl" | "evaluationsUrl"> = {},
  ): Promise<AuthZenPolicyClient> {
    const probe = new AuthZenPolicyClient({ ...options, baseUrl });
    const metadata = (await probe.#send(
      `${trim(baseUrl)}/.well-known/authzen-configuration`,
      undefined,
      undefined,
    )) as Record<string, unknown>;
    if (trim(String(metadata.policy_decision_point ?? "")) !== trim(baseUrl)) {
      throw new AgentGateError(
        "policy_unavailable",
        "The PDP's metadata names another policy_decision_point.",
      );
    }
    const evaluationUrl = metadata.access_evaluation_endpoint;
    if (typeof evaluationUrl !== "string")
      throw new AgentGateError(
        "policy_unavailable",
        "The PDP's metadata has no access_evaluation_endpoint.",
      );
    const evaluationsUrl = metadata.access_evaluations_endpoint;
    return new AuthZenPolicyClient({
      ...options,
      baseUrl,
      evaluationUrl,
      ...(typeof evaluationsUrl === "string" ? { evaluationsUrl } : {}),
    });
  }

  async evaluate(request: AccessRequest, options: EvaluateOptions = {}): Promise<Decision> {
    const url =
      this.#options.evaluationUrl ?? `${trim(this.#options.baseUrl)}/access/v1/evaluation`;
    return decisionFromWire(
      await this.#send(url, accessRequestToWire(request, this.#options.mapping), options.signal),
    );
  }

  async evaluateMany(
    requests: readonly AccessRequest[],
    options: EvaluateOptions = {},
  ): Promise<Decision[]> {
    const url =
      this.#options.evaluationsUrl ?? `${trim(this.#options.baseUrl)}/access/v1/evaluations`;
    const body = await this.#send(
      url,
      {
        evaluations: requests.map((request) => accessRequestToWire(request, this.#options.mapping)),
      },
      options.signal,
    );
    return decisionsFromWire(body, requests.length);
  }

  async #send(url: string, body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(url, body, signal);
      } catch (error) {
        // One retry, and only when the connection itself failed (nothing was decided).
        if (attempt === 0 && isConnectionError(error) && signal?.aborted !== true) continue;
        throw isAgentGateError(error)
          ? error
          : new AgentGateError(
              "policy_unavailable",
              `The PDP could not be reached: ${describe(error)}.`,
              { cause: error },
            );
      }
    }
  }

  async #once(url: string, body: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 1000);
    const headers: Record<string, string> = {
      accept: "application/json",
      "x-request-id": requestId(),
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const token =
      typeof this.#options.token === "function" ? await this.#options.token() : this.#options.token;
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const response = await this.#fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      redirect: "error",
    });
    const text = await response.text();
    if (!response.ok)
      throw new AgentGateError("policy_unavailable", `The PDP answered HTTP ${response.status}.`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AgentGateError("policy_unavailable", "The PDP's answer is not JSON.");
    }
  }
}

function isConnectionError(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return (
    error instanceof TypeError &&
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "UND_ERR_SOCKET"].includes(cause?.code ?? "")
  );
}

function describe(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
    return "timed out";
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code ?? (error instanceof Error ? error.message : "unknown error");
}

function trim(url: string): string {
  return url.replace(/\/+$/, "");
}

function requestId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
