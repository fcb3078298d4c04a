import { Hono } from "hono";
import { SEARCH_PATHS } from "./authzen-routes.js";
import type { ServerContext } from "./server-context.js";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

/**
 * Discovery: the JWKS (public keys only), OpenID-style issuer metadata, the AuthZEN PDP metadata
 * (§9: every endpoint served, and only those; `policy_decision_point` is the base URL, https
 * when served over TLS) and the health checks.
 */
export function discoveryRoutes(context: ServerContext): Hono {
  const { workspace, policy } = context;
  return (
    new Hono()
      .get("/healthz", (c) => c.json({ status: "ok" }))
      .get("/readyz", (c) =>
        c.json({
          status: "ready",
          policyVersion: policy.version(),
          keys: workspace.authority.keys().length,
        }),
      )
      .get("/.well-known/jwks.json", async (c) => c.json(await workspace.authority.jwks()))
      .get("/.well-known/openid-configuration", (c) => {
        const base = context.baseUrl();
        const { authority } = workspace;
        // OpenID Connect Discovery 1.0 §3: every REQUIRED member. The algorithms are exactly those
        // of the published keys, so a relying party never expects one the JWKS cannot verify.
        const algorithms = [...new Set(authority.keys().map((key) => key.alg))];
        return c.json({
          issuer: authority.issuer,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          jwks_uri: `${base}/.well-known/jwks.json`,
          response_types_supported: ["id_token"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: algorithms,
          grant_types_supported: [TOKEN_EXCHANGE],
          token_endpoint_auth_methods_supported: ["none"],
          scopes_supported: ["openid"],
          claims_supported: [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "nbf",
            "jti",
            "scope",
            "act",
            "agent",
          ],
        });
      })
      // Discovery requires an authorization endpoint; AgentGate issues to agents, never through a
      // browser, so it answers every authorization request with the RFC 6749 §4.1.2.1 error.
      .get("/authorize", (c) =>
        c.json(
          {
            error: "unsupported_response_type",
            error_description: "AgentGate issues tokens by token exchange only (POST /token).",
          },
          400,
        ),
      )
      .get("/.well-known/authzen-configuration", (c) => {
        const base = context.baseUrl();
        return c.json({
          policy_decision_point: base,
          access_evaluation_endpoint: `${base}/access/v1/evaluation`,
          access_evaluations_endpoint: `${base}/access/v1/evaluations`,
          search_subject_endpoint: `${base}${SEARCH_PATHS.subject}`,
          search_resource_endpoint: `${base}${SEARCH_PATHS.resource}`,
          search_action_endpoint: `${base}${SEARCH_PATHS.action}`,
        });
      })
  );
}
