import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CedarPolicyClient } from "@agentgate/cedar";
import {
  type AccessRequest,
  type AuditSink,
  isAgentGateError,
  type RevocationKind,
} from "@agentgate/core";
import { openAuditWriter } from "@agentgate/core/node";
import { adminActor } from "./audited-change.js";
import {
  auditedExchange,
  auditedRevoke,
  auditedSuspend,
  type ExchangeFacts,
  policyLoads,
} from "./server-audit.js";
import type { Workspace } from "./workspace.js";

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** The trust domain's directory, opened (keys, registry, policies, audit log). */
  readonly workspace: Workspace;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8787; 0 picks a free port. */
  readonly port?: number;
  /** Bearer token for `/admin/*`; without it the admin endpoints answer 403. */
  readonly adminToken?: string;
  /** The URL clients reach the server at (issuer metadata); default `http://<host>:<port>`. */
  readonly publicUrl?: string;
  /**
   * Where admin changes and token exchanges are recorded, each before it takes effect (K83).
   * Default: a chain of the server's own in the workspace's audit log (`openAuditWriter`),
   * closed with the server.
   */
  readonly audit?: AuditSink;
}

/** A running server. */
export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
type Semantic = "execute_all" | "deny_on_first_deny" | "permit_on_first_permit";

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

/**
 * `agentgate serve`: JWKS and OpenID-style discovery, the OpenID AuthZEN 1.0 PDP API backed by
 * the Cedar policies, RFC 8693 token exchange for delegation, a revocation feed, admin endpoints
 * (revoke, suspend) behind a bearer token, and health checks. Every body is limited to 64 KiB;
 * every error is JSON with a stable `error` code; no response carries keys or policy text.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { workspace } = options;
  // A chain of its own, so that a gate can still open the log while the server runs.
  const audit = options.audit ?? (await openAuditWriter(workspace.audit, { ownChain: true }));
  const loads = policyLoads(audit);
  const policy = CedarPolicyClient.fromDirectory(workspace.policies, {
    watch: true,
    onLoad: loads.record,
  });
  try {
    await loads.first();
  } catch (error) {
    // Not started: release the watcher and the chain this server opened.
    await policy.close();
    if (options.audit === undefined) await audit.close();
    throw error;
  }
  const audited = (request: IncomingMessage) => ({
    workspace,
    audit,
    actor: adminActor(admin(request, options.adminToken)),
  });
  let base = options.publicUrl ?? "";
  const routes: Record<
    string,
    (request: IncomingMessage, body: unknown) => Promise<unknown> | unknown
  > = {
    "GET /healthz": () => ({ status: "ok" }),
    "GET /readyz": () => ({
      status: "ready",
      policyVersion: policy.version(),
      keys: workspace.authority.keys().length,
    }),
    "GET /.well-known/jwks.json": () => workspace.authority.jwks(),
    "GET /.well-known/openid-configuration": () => ({
      issuer: workspace.authority.issuer,
      jwks_uri: `${base}/.well-known/jwks.json`,
      token_endpoint: `${base}/token`,
      grant_types_supported: [TOKEN_EXCHANGE],
      token_endpoint_auth_methods_supported: ["none"],
      id_token_signing_alg_values_supported: ["EdDSA", "ES256"],
      subject_types_supported: ["public"],
    }),
    "GET /.well-known/authzen-configuration": () => ({
      policy_decision_point: base,
      access_evaluation_endpoint: `${base}/access/v1/evaluation`,
      access_evaluations_endpoint: `${base}/access/v1/evaluations`,
    }),
    "POST /access/v1/evaluation": async (_, body) => decide(policy, accessRequest(body)),
    "POST /access/v1/evaluations": async (_, body) => evaluations(policy, body),
    "POST /token": async (_, body) =>
      auditedExchange(audit, (facts) => exchange(workspace, body, facts)),
    "GET /revocations": async (request) => {
      const since = Number(new URL(request.url ?? "/", "http://x").searchParams.get("since") ?? 0);
      const all = await workspace.revocations.list();
      return {
        revocations: all.slice(Number.isInteger(since) && since > 0 ? since : 0),
        next: all.length,
      };
    },
    "POST /admin/revoke": async (request, body) => {
      const context = audited(request);
      const { kind, id, reason } = object(body) as {
        kind?: unknown;
        id?: unknown;
        reason?: unknown;
      };
      if (!["agent", "token", "key"].includes(String(kind)) || typeof id !== "string") {
        throw new HttpError(
          400,
          "invalid_request",
          "kind must be agent, token or key, and id a string",
        );
      }
      return auditedRevoke(
        context,
        kind as RevocationKind,
        id,
        typeof reason === "string" ? reason.slice(0, 256) : undefined,
      );
    },
    "POST /admin/suspend": async (request, body) => {
      const context = audited(request);
      const { agent } = object(body) as { agent?: unknown };
      const record = typeof agent === "string" ? await workspace.registry.get(agent) : undefined;
      if (record === undefined) throw new HttpError(404, "not_found", "no such agent");
      await auditedSuspend(context, record);
      return { agent: record.id, supervision: "suspended" };
    },
  };

  const server = createServer(async (request, response) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const route = routes[`${request.method} ${path}`];
    const requestId = request.headers["x-request-id"];
    if (typeof requestId === "string" && /^[\x21-\x7e]{1,128}$/.test(requestId))
      response.setHeader("x-request-id", requestId);
    try {
      if (route === undefined) throw new HttpError(404, "not_found", "no such endpoint");
      const body = request.method === "POST" ? await readBody(request) : undefined;
      send(response, 200, await route(request, body));
    } catch (error) {
      const failure = error instanceof HttpError ? error : toHttpError(error);
      send(response, failure.status, { error: failure.error, error_description: failure.message });
    }
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 8787, options.host ?? "127.0.0.1", resolve),
  );
  const address = server.address() as AddressInfo;
  base = options.publicUrl ?? `http://${address.address}:${address.port}`;
  return {
    url: base,
    close: async () => {
      await policy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (options.audit === undefined) await audit.close();
    },
  };
}

async function decide(policy: CedarPolicyClient, request: AccessRequest): Promise<unknown> {
  const decision = await policy.evaluate(request);
  return {
    decision: decision.allowed,
    context: {
      reason_admin: { en: decision.reason },
      reason_user: { en: decision.safeReason },
      policies: decision.policies,
      obligations: decision.obligations,
    },
  };
}

/** AuthZEN 1.0 batch evaluation, with the three `evaluations_semantic` options. */
async function evaluations(policy: CedarPolicyClient, body: unknown): Promise<unknown> {
  const top = object(body) as Record<string, unknown>;
  const items = top.evaluations;
  if (!Array.isArray(items) || items.length === 0 || items.length > 100) {
    throw new HttpError(
      400,
      "invalid_request",
      "evaluations must be an array of 1 to 100 requests",
    );
  }
  const semantic = ((top.options as { evaluations_semantic?: Semantic } | undefined)
    ?.evaluations_semantic ?? "execute_all") as Semantic;
  if (!["execute_all", "deny_on_first_deny", "permit_on_first_permit"].includes(semantic)) {
    throw new HttpError(400, "invalid_request", "unknown evaluations_semantic");
  }
  const results: unknown[] = [];
  for (const item of items) {
    const merged = {
      subject: top.subject,
      action: top.action,
      resource: top.resource,
      context: top.context,
      ...object(item),
    };
    let result: { decision: boolean };
    try {
      result = (await decide(policy, accessRequest(merged))) as { decision: boolean };
    } catch (error) {
      // An error in one entry is that entry's deny, per AuthZEN §7.
      const failure = error instanceof HttpError ? error : toHttpError(error);
      result = {
        decision: false,
        context: { error: { status: failure.status, message: failure.message } },
      } as { decision: boolean };
    }
    results.push(result);
    if (
      (semantic === "deny_on_first_deny" && !result.decision) ||
      (semantic === "permit_on_first_permit" && result.decision)
    )
      break;
  }
  return { evaluations: results };
}

/** RFC 8693 token exchange: the delegate proves itself with `actor_token`; attenuation is the authority's. */
async function exchange(
  workspace: Workspace,
  body: unknown,
  facts: ExchangeFacts,
): Promise<unknown> {
  const form = object(body) as Record<string, unknown>;
  if (form.grant_type !== TOKEN_EXCHANGE)
    throw new HttpError(400, "unsupported_grant_type", "only token exchange is supported");
  if (typeof form.subject_token !== "string" || typeof form.actor_token !== "string") {
    throw new HttpError(400, "invalid_request", "subject_token and actor_token are required");
  }
  if (typeof form.audience !== "string")
    throw new HttpError(400, "invalid_target", "audience is required");
  facts.audience = form.audience;
  const actor = await workspace.authority
    .verifier({ cacheSize: 0 })
    .verify(form.actor_token, { audience: workspace.authority.issuer })
    .catch((error: unknown) => {
      throw new HttpError(
        400,
        "invalid_grant",
        `actor_token: ${isAgentGateError(error) ? error.safeMessage : "invalid"}`,
      );
    });
  facts.actor = actor.agent.toString();
  const scope =
    typeof form.scope === "string" && form.scope.length > 0 ? form.scope.split(" ") : undefined;
  const issued = await workspace.authority.delegate(form.subject_token, {
    to: actor.agent.toString(),
    audience: form.audience,
    ...(scope ? { scope } : {}),
  });
  const response = {
    access_token: issued.token,
    issued_token_type: JWT_TYPE,
    token_type: "Bearer",
    expires_in: issued.expiresAt - issued.issuedAt,
    scope: issued.scopes.join(" "),
  };
  facts.issued = issued;
  return response;
}

function accessRequest(body: unknown): AccessRequest {
  const request = object(body) as Partial<AccessRequest>;
  const ok =
    typeof request.subject?.id === "string" &&
    typeof request.subject.type === "string" &&
    typeof request.action?.name === "string" &&
    typeof request.resource?.id === "string" &&
    typeof request.resource.type === "string" &&
    typeof request.context === "object" &&
    request.context !== null;
  if (!ok)
    throw new HttpError(
      400,
      "invalid_request",
      "subject, action, resource and context are required (AuthZEN 1.0)",
    );
  const properties = (request.subject?.properties ?? {}) as Partial<
    AccessRequest["subject"]["properties"]
  >;
  return {
    ...(request as AccessRequest),
    subject: {
      type: "agent",
      id: request.subject?.id as string,
      properties: {
        owner: String(properties.owner ?? ""),
        supervision: properties.supervision ?? "autonomous",
        labels: properties.labels ?? {},
        scopes: Array.isArray(properties.scopes) ? properties.scopes : [],
        principal: String(properties.principal ?? request.subject?.id),
        principalType: properties.principalType ?? "agent",
        chain: Array.isArray(properties.chain) ? properties.chain : [request.subject?.id as string],
        delegated: properties.delegated === true,
      },
    },
    action: {
      name: request.action?.name as string,
      properties: {
        tool: String(request.action?.properties?.tool ?? request.resource?.id),
        ...(request.action?.properties?.server ? { server: request.action.properties.server } : {}),
      },
    },
  };
}

/** Checks the admin bearer token; returns it (its id becomes the audit event's actor). */
function admin(request: IncomingMessage, token: string | undefined): string {
  if (token === undefined)
    throw new HttpError(
      403,
      "forbidden",
      "admin endpoints are disabled (no admin token configured)",
    );
  const given = Buffer.from(/^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1] ?? "");
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new HttpError(401, "invalid_token", "admin bearer token required");
  return token;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw new HttpError(413, "request_too_large", `bodies are limited to ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if ((request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    return JSON.parse(text === "" ? "{}" : text);
  } catch {
    throw new HttpError(400, "invalid_request", "the body is not JSON");
  }
}

function object(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new HttpError(400, "invalid_request", "a JSON object is expected");
  return value as Record<string, unknown>;
}

function toHttpError(error: unknown): HttpError {
  if (!isAgentGateError(error)) return new HttpError(500, "server_error", "internal error");
  const status =
    error.code === "policy_unavailable" || error.code === "audit_unavailable"
      ? 503
      : error.code === "invalid_configuration"
        ? 500
        : 400;
  const code = error.code.startsWith("token_")
    ? "invalid_grant"
    : error.code === "delegation_invalid" || error.code === "scope_invalid"
      ? "invalid_scope"
      : error.code;
  return new HttpError(status, code, error.safeMessage);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify(body));
}
