import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type CertificateAuthenticator,
  isAgentGateError,
  type TokenVerifier,
} from "@agentgate/core";
import { InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { CERTIFICATE_CHAIN_KEY, peerCertificateChain } from "./mtls.js";

/** Options of {@link mcpTokenVerifier} and {@link authenticateRequest}. */
export interface McpAuthOptions {
  /** Verifies the bearer tokens. */
  readonly verifier: TokenVerifier;
  /** This server's resource URL: the audience its tokens must name, alone. */
  readonly audience: string;
  /**
   * Accept mTLS client certificates (X.509-SVIDs) as the caller's identity, through the gate's
   * own port (`x509CertificateAuthenticator` from `@agentgate/core/x509`). Serve with
   * {@link mtlsServerOptions} so the TLS handshake already requires one.
   */
  readonly certificates?: CertificateAuthenticator;
}

/**
 * An `OAuthTokenVerifier` for the MCP SDK's `requireBearerAuth` (Express): verifies AgentGate
 * tokens for this server's audience and returns `AuthInfo` with the numeric `expiresAt` the SDK
 * requires. A bad token is an `InvalidTokenError` carrying only the safe reason.
 */
export function mcpTokenVerifier(options: McpAuthOptions): {
  verifyAccessToken(token: string): Promise<AuthInfo>;
} {
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      try {
        const agent = await options.verifier.verify(token, { audience: options.audience });
        return {
          token,
          clientId: agent.agent.toString(),
          scopes: [...agent.scopes],
          expiresAt: agent.expiresAt,
          resource: new URL(options.audience),
          extra: { tokenId: agent.tokenId, principal: agent.principal.id, chain: [...agent.chain] },
        };
      } catch (error) {
        throw new InvalidTokenError(isAgentGateError(error) ? error.safeMessage : "Invalid token.");
      }
    },
  };
}

/**
 * Framework-free bearer authentication for `node:http`: returns the `AuthInfo` to put on
 * `req.auth` before `transport.handleRequest(req, res)`, or answers 401 with a
 * `WWW-Authenticate` header pointing to the protected resource metadata and returns `undefined`.
 * Tokens are read from the `Authorization` header only, never from the query string.
 */
export async function authenticateRequest(
  request: IncomingMessage,
  response: ServerResponse,
  options: McpAuthOptions & { readonly resourceMetadataUrl?: string },
): Promise<AuthInfo | undefined> {
  const header = request.headers.authorization;
  const match = typeof header === "string" ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header) : null;
  let description = "missing bearer token";
  const peer = options.certificates === undefined ? undefined : peerCertificateChain(request);
  if (options.certificates !== undefined && peer !== undefined) {
    // The TLS handshake proved the key; the SVID profile, revocations and the registry are
    // checked here and again by the gate on every call, exactly as for a token.
    try {
      const { agent } = await options.certificates.authenticate(peer.certificateChain, {
        audience: options.audience,
      });
      return {
        token: agent.tokenId,
        clientId: agent.agent.toString(),
        scopes: [...agent.scopes],
        expiresAt: agent.expiresAt,
        resource: new URL(options.audience),
        extra: {
          tokenId: agent.tokenId,
          principal: agent.principal.id,
          chain: [...agent.chain],
          [CERTIFICATE_CHAIN_KEY]: peer.certificateChain,
        },
      };
    } catch (error) {
      description = isAgentGateError(error) ? error.safeMessage : "invalid certificate";
    }
  } else if (match !== null) {
    try {
      return await mcpTokenVerifier(options).verifyAccessToken(match[1] as string);
    } catch (error) {
      description = error instanceof Error ? error.message : "invalid token";
    }
  }
  const metadata =
    options.resourceMetadataUrl === undefined
      ? ""
      : `, resource_metadata="${options.resourceMetadataUrl}"`;
  response.writeHead(401, {
    "content-type": "application/json",
    "www-authenticate": `Bearer error="invalid_token", error_description="${description.replace(/"/g, "'")}"${metadata}`,
  });
  response.end(JSON.stringify({ error: "invalid_token", error_description: description }));
  return undefined;
}

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for an MCP server guarded by AgentGate: serve
 * it at `/.well-known/oauth-protected-resource`. `authorizationServers` is the AgentGate issuer.
 */
export function protectedResourceMetadata(options: {
  readonly resource: string;
  readonly authorizationServers: readonly string[];
  readonly scopes?: readonly string[];
}): Record<string, unknown> {
  return {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    bearer_methods_supported: ["header"],
    ...(options.scopes === undefined ? {} : { scopes_supported: [...options.scopes] }),
    resource_signing_alg_values_supported: ["EdDSA", "ES256"],
  };
}
