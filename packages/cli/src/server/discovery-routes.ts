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
  return new Hono()
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
      return c.json({
        issuer: workspace.authority.issuer,
        jwks_uri: `${base}/.well-known/jwks.json`,
        token_endpoint: `${base}/token`,
        grant_types_supported: [TOKEN_EXCHANGE],
        token_endpoint_auth_methods_supported: ["none"],
        id_token_signing_alg_values_supported: ["EdDSA", "ES256"],
        subject_types_supported: ["public"],
      });
    })
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
    });
}
