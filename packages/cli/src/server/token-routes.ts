import { isAgentGateError } from "@agentgate/core";
import { SCOPE_PATTERN } from "@agentgate/core/internal";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { auditedExchange, type ExchangeFacts } from "../server-audit.js";
import { HttpError } from "./http-error.js";
import { jsonObject } from "./json-body.js";
import type { ServerContext } from "./server-context.js";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const TOKEN = z.string().min(1).max(16_384);

/** RFC 8693 §2.1: the members of a token exchange request this server reads. */
const exchangeBody = z.looseObject({
  grant_type: z.string(),
  subject_token: TOKEN,
  subject_token_type: z.literal(JWT_TYPE).optional(),
  actor_token: TOKEN,
  actor_token_type: z.literal(JWT_TYPE).optional(),
  audience: z.string().min(1).max(2048),
  scope: z
    .string()
    .max(4096)
    .refine(
      (value) => value === "" || value.split(" ").every((scope) => SCOPE_PATTERN.test(scope)),
      "scope must be space-separated scope names",
    )
    .optional(),
});

/** RFC 8693 §2.2.2 / RFC 6749 §5.2 error for a refused exchange. */
function exchangeError(error: unknown): unknown {
  if (!isAgentGateError(error)) return error;
  if (error.code === "audit_unavailable") return error;
  const scopeWidened = error.code === "delegation_invalid" && error.details?.check === "scope";
  return new HttpError(
    400,
    scopeWidened || error.code === "scope_invalid" ? "invalid_scope" : "invalid_grant",
    error.safeMessage,
  );
}

/** A form (`application/x-www-form-urlencoded`, RFC 8693's encoding) or a JSON object. */
async function exchangeForm(c: Context): Promise<Record<string, unknown>> {
  if ((c.req.header("content-type") ?? "").startsWith("application/x-www-form-urlencoded")) {
    const form = new URLSearchParams(await c.req.text());
    const out: Record<string, string> = {};
    for (const [key, value] of form) {
      // RFC 6749 §3.2: parameters must not be repeated.
      if (Object.hasOwn(out, key))
        throw new HttpError(400, "invalid_request", `${key} is repeated`);
      out[key] = value;
    }
    return out;
  }
  return jsonObject(c);
}

/**
 * RFC 8693 token exchange for delegation: the delegate proves itself with `actor_token` (a token
 * of its own, addressed to this issuer); the authority attenuates (narrower scope, shorter life)
 * and refuses what it may not grant (`invalid_scope`, `invalid_grant`). Every exchange, granted
 * or refused, is a `token_exchange` event; a granted token leaves only once its event is written
 * (SECURITY.md K83, L89).
 */
export function tokenRoutes(context: ServerContext): Hono {
  const { workspace } = context;
  const exchange = async (c: Context, facts: ExchangeFacts) => {
    const form = await exchangeForm(c);
    if (form.grant_type !== TOKEN_EXCHANGE)
      throw new HttpError(400, "unsupported_grant_type", "only token exchange is supported");
    const parsed = exchangeBody.safeParse(form);
    if (!parsed.success) {
      const member = parsed.error.issues[0]?.path.join(".");
      throw member === "audience"
        ? new HttpError(400, "invalid_target", "audience is required")
        : new HttpError(400, "invalid_request", `${member}: ${parsed.error.issues[0]?.message}`);
    }
    const request = parsed.data;
    facts.audience = request.audience;
    const { authority, config } = workspace;
    // The actor first, so that a refusal's audit event names who asked.
    const actor = await authority
      .verifier({ cacheSize: 0 })
      .verify(request.actor_token, { audience: authority.issuer })
      .catch((error: unknown) => {
        throw new HttpError(
          400,
          "invalid_grant",
          `actor_token: ${isAgentGateError(error) ? error.safeMessage : "invalid"}`,
        );
      });
    facts.actor = actor.agent.toString();
    const allowed = config.exchange?.mayAct ?? {};
    const scope = request.scope ? request.scope.split(" ") : undefined;
    const issued = await authority
      .exchange(request.subject_token, request.actor_token, {
        audience: request.audience,
        ...(scope ? { scope } : {}),
        subjectAudiences: config.exchange?.subjectAudiences ?? [],
        externalIssuers: (await context.externalIssuers?.()) ?? [],
        // Without may_act, config.json's exchange.mayAct is the decision on the exchange.
        mayAct: ({ subject, actor: who }) => {
          const id = who.agent.toString();
          return Object.hasOwn(allowed, id) && (allowed[id] ?? []).includes(subject.principal.id);
        },
      })
      .catch((error: unknown) => {
        throw exchangeError(error);
      });
    facts.issued = issued;
    return {
      access_token: issued.token,
      issued_token_type: JWT_TYPE,
      token_type: "Bearer",
      expires_in: issued.expiresAt - issued.issuedAt,
      scope: issued.scopes.join(" "),
    };
  };
  return new Hono().post("/token", async (c) =>
    c.json(await auditedExchange(context.audit, (facts) => exchange(c, facts))),
  );
}
