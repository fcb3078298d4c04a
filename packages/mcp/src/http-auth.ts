import type { IncomingMessage, ServerResponse } from "node:http";
import {
  AgentGateError,
  type AgentRegistry,
  type CertificateAuthenticator,
  isAgentGateError,
  type JwtSvidBundle,
  jwtSvidBundleFor,
  type ReplayCache,
  type TokenVerifier,
  type VerifiedAgent,
  verifyDpopProof,
  verifyJwtSvid,
} from "@agentgate/core";
import { InvalidTokenError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { CERTIFICATE_CHAIN_KEY, peerCertificateChain, peerCertificateThumbprint } from "./mtls.js";

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
  /**
   * SPIFFE trust bundles (`JwtSvidBundle.fromJwks`) whose SPIRE JWT-SVIDs are accepted as
   * bearers besides AgentGate tokens, routed exactly as the gate routes them
   * (`jwtSvidBundleFor`): a credential with `typ` `JWT`, `JOSE` or none goes to `verifyJwtSvid`
   * with the bundle of its `sub`'s trust domain, the verifier's revocation list and
   * {@link McpAuthOptions.registry}. Pass the gate's own bundles: the gate verifies the SVID
   * again on every call. A JWT-SVID is a bearer credential, refused when `dpop.required`.
   * Default: none, and a JWT-SVID is refused (401) like any foreign token (SECURITY.md P132).
   */
  readonly spiffeBundles?: readonly JwtSvidBundle[];
  /**
   * Where a JWT-SVID's agent must be registered, not suspended and not expired (the gate's
   * registry). Required with `spiffeBundles`: without it `mcpTokenVerifier` throws
   * `invalid_configuration` and `authenticateRequest` refuses every bearer. AgentGate tokens are
   * checked against the registry by the gate.
   */
  readonly registry?: AgentRegistry;
  /**
   * DPoP (RFC 9449): where proofs' `jti`s are remembered (a `MemoryReplayCache` shared by every
   * request of this server), the allowed `iat` distance in seconds (default 60), and whether
   * every token must be bound (`required`). A token bound to a key (`cnf.jkt`) is accepted
   * only with a valid proof from that key, configured or not: without `dpop` it is refused.
   */
  readonly dpop?: {
    readonly replay: ReplayCache;
    readonly windowSeconds?: number;
    readonly required?: boolean;
  };
}

/**
 * Marks, on `AuthInfo.extra`, a request whose proof of possession `authenticateRequest` checked:
 * `"dpop"` (a DPoP proof) or `"mtls"` (the client certificate of a certificate-bound token).
 */
export const PROOF_OF_POSSESSION_KEY = "dev.agentgate/proofOfPossession";

/** Beside {@link PROOF_OF_POSSESSION_KEY}: the thumbprint the proof was checked against. */
export const PROOF_THUMBPRINT_KEY = "dev.agentgate/proofThumbprint";

/**
 * What a request says about itself, for proof of possession: method, the URL the client used,
 * the DPoP proof, and the RFC 8705 thumbprint (base64url SHA-256 of the DER) of the client
 * certificate the TLS stack verified, if any (`peerCertificateThumbprint`).
 */
export interface RequestFacts {
  readonly method: string;
  readonly url: string;
  readonly proof: string | undefined;
  readonly certificateThumbprint?: string;
}

/**
 * An `OAuthTokenVerifier` for the MCP SDK's `requireBearerAuth` (Express): verifies AgentGate
 * tokens (and, with `spiffeBundles`, SPIRE JWT-SVIDs) for this server's audience and returns
 * `AuthInfo` with the numeric `expiresAt` the SDK requires; its `token` is the credential as
 * presented, which the guarded server hands to the gate to verify again on every call. A bad
 * token is an `InvalidTokenError` carrying only the safe reason.
 */
export function mcpTokenVerifier(options: McpAuthOptions): {
  verifyAccessToken(token: string, request?: RequestFacts): Promise<AuthInfo>;
} {
  if ((options.spiffeBundles?.length ?? 0) > 0 && options.registry === undefined)
    throw missingRegistry();
  return {
    async verifyAccessToken(token: string, request?: RequestFacts): Promise<AuthInfo> {
      try {
        const agent = await verifyCredential(token, options);
        const dpop = options.dpop;
        const cnf = agent.confirmation;
        let possession: Record<string, string> = {};
        if (cnf?.jkt !== undefined) {
          // A bound token replayed as a bearer, or to a server that cannot check proofs, is
          // refused: possession of the key is the point (RFC 9449 §7.1).
          if (dpop === undefined || request === undefined) {
            throw new InvalidTokenError("The token is bound to a key: a DPoP proof is required.");
          }
          await verifyDpopProof(request.proof, {
            method: request.method,
            url: request.url,
            accessToken: token,
            jkt: cnf.jkt,
            replay: dpop.replay,
            ...(dpop.windowSeconds === undefined ? {} : { windowSeconds: dpop.windowSeconds }),
          });
          possession = { [PROOF_OF_POSSESSION_KEY]: "dpop", [PROOF_THUMBPRINT_KEY]: cnf.jkt };
        } else if (cnf?.["x5t#S256"] !== undefined) {
          // RFC 8705 §3: usable only over mTLS with the very certificate it names (M108).
          const presented = request?.certificateThumbprint;
          if (presented !== cnf["x5t#S256"]) {
            throw new InvalidTokenError(
              presented === undefined
                ? "The token is bound to a client certificate: call over mTLS with it."
                : "The token is bound to another client certificate.",
            );
          }
          possession = { [PROOF_OF_POSSESSION_KEY]: "mtls", [PROOF_THUMBPRINT_KEY]: presented };
        } else if (dpop?.required === true) {
          throw new InvalidTokenError(
            agent.jwtSvid === undefined
              ? "This server accepts only DPoP-bound tokens."
              : "A JWT-SVID is a bearer credential: this server accepts only DPoP-bound tokens.",
          );
        }
        // The proof of this request was checked: the gate may accept the bound token.
        return authInfoOf(token, agent, options.audience, possession);
      } catch (error) {
        if (error instanceof InvalidTokenError) throw error;
        throw new InvalidTokenError(isAgentGateError(error) ? error.safeMessage : "Invalid token.");
      }
    },
  };
}

/**
 * The bearer's identity, routed as the gate routes it: a JWT-SVID of a configured bundle through
 * `verifyJwtSvid`, anything else through the token verifier.
 */
async function verifyCredential(token: string, options: McpAuthOptions): Promise<VerifiedAgent> {
  const bundles = options.spiffeBundles;
  const bundle =
    bundles === undefined || bundles.length === 0 ? undefined : jwtSvidBundleFor(token, bundles);
  if (bundle === undefined) return options.verifier.verify(token, { audience: options.audience });
  if (options.registry === undefined) throw missingRegistry();
  const revocations = options.verifier.revocations;
  const { agent } = await verifyJwtSvid(token, {
    bundle,
    registry: options.registry,
    audience: options.audience,
    ...(revocations === undefined ? {} : { revocations }),
  });
  return agent;
}

/**
 * The `AuthInfo` the guarded server is handed for `agent`, verified for `audience`: `token` is
 * what the gate verifies again on every call, `extra` what this request proved besides.
 */
function authInfoOf(
  token: string,
  agent: VerifiedAgent,
  audience: string,
  extra: Record<string, unknown>,
): AuthInfo {
  return {
    token,
    clientId: agent.agent.toString(),
    scopes: [...agent.scopes],
    expiresAt: agent.expiresAt,
    resource: new URL(audience),
    extra: {
      tokenId: agent.tokenId,
      principal: agent.principal.id,
      chain: [...agent.chain],
      ...extra,
    },
  };
}

function missingRegistry(): AgentGateError {
  return new AgentGateError(
    "invalid_configuration",
    "McpAuthOptions.spiffeBundles needs the registry option.",
  );
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
  const match =
    typeof header === "string" ? /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/.exec(header) : null;
  let description = "missing bearer token";
  const peer = options.certificates === undefined ? undefined : peerCertificateChain(request);
  if (options.certificates !== undefined && peer !== undefined) {
    // The TLS handshake proved the key; the SVID profile, revocations and the registry are
    // checked here and again by the gate on every call, exactly as for a token.
    try {
      const { agent } = await options.certificates.authenticate(peer.certificateChain, {
        audience: options.audience,
      });
      return authInfoOf(agent.tokenId, agent, options.audience, {
        [CERTIFICATE_CHAIN_KEY]: peer.certificateChain,
      });
    } catch (error) {
      description = isAgentGateError(error) ? error.safeMessage : "invalid certificate";
    }
  } else if (match !== null) {
    try {
      const proof = request.headers.dpop;
      // A DPoP-scheme token must come with its proof; a Bearer one is checked as one.
      // Over mTLS without a certificate authenticator, the verified client certificate is what
      // a certificate-bound token is checked against.
      const thumbprint = peerCertificateThumbprint(request);
      return await mcpTokenVerifier(options).verifyAccessToken(match[2] as string, {
        method: request.method ?? "GET",
        url: new URL(request.url ?? "/", options.audience).href,
        proof: typeof proof === "string" ? proof : undefined,
        ...(thumbprint === undefined ? {} : { certificateThumbprint: thumbprint }),
      });
    } catch (error) {
      // A configuration error (spiffeBundles without a registry) shows only its safe reason.
      description = isAgentGateError(error)
        ? error.safeMessage
        : error instanceof Error
          ? error.message
          : "invalid token";
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
  /** Advertise that every token must be DPoP-bound. */
  readonly dpopRequired?: boolean;
}): Record<string, unknown> {
  return {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    bearer_methods_supported: ["header"],
    ...(options.scopes === undefined ? {} : { scopes_supported: [...options.scopes] }),
    resource_signing_alg_values_supported: ["EdDSA", "ES256"],
    // RFC 9728 §2: this server checks DPoP proofs (RFC 9449) for key-bound tokens.
    dpop_signing_alg_values_supported: ["ES256", "EdDSA"],
    ...(options.dpopRequired === true ? { dpop_bound_access_tokens_required: true } : {}),
  };
}
