import type { IncomingMessage } from "node:http";
import type { ServerOptions } from "node:https";
import type { PeerCertificate, TLSSocket } from "node:tls";
import type { CertificateCredential } from "@agentgate/core";

/**
 * Where the verified peer chain travels on the MCP SDK's `AuthInfo.extra`, from
 * {@link authenticateRequest} to `guardMcpServer`. AgentGate's own key.
 */
export const CERTIFICATE_CHAIN_KEY = "dev.agentgate/certificateChain";

const MAX_CHAIN = 4;

/**
 * `node:https` server options that require a client certificate from the trust domain: the TLS
 * handshake itself refuses a client without one, or with one no authority of `bundle` signed
 * (`requestCert`, `rejectUnauthorized`). The gate then checks the SVID profile, revocations and
 * the registry on every call, as for a token.
 *
 * @example
 * ```ts
 * const server = createServer(mtlsServerOptions({ key, cert, bundle: readFileSync("bundle.pem", "utf8") }), handler);
 * ```
 */
export function mtlsServerOptions(options: {
  /** The server's own private key and certificate chain (PEM). */
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  /** The trust domain's bundle (PEM): the only CAs client certificates may chain to. */
  readonly bundle: string | Buffer;
}): ServerOptions {
  return {
    key: options.key,
    cert: options.cert,
    ca: options.bundle,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  };
}

/**
 * The client's certificate chain (leaf first, DER) when the request came over TLS and the TLS
 * stack verified it against its `ca`; `undefined` for plain HTTP or an unverified peer. The chain
 * stops at the first self-signed certificate or after four.
 */
export function peerCertificateChain(request: IncomingMessage): CertificateCredential | undefined {
  const socket = request.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== "function") {
    return undefined;
  }
  const chain: Uint8Array[] = [];
  let current: PeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (current?.raw !== undefined && chain.length < MAX_CHAIN) {
    if (seen.has(current.fingerprint256)) break;
    seen.add(current.fingerprint256);
    chain.push(new Uint8Array(current.raw));
    const issuer: PeerCertificate | undefined = (
      current as PeerCertificate & { issuerCertificate?: PeerCertificate }
    ).issuerCertificate;
    if (issuer === undefined || issuer === current) break;
    current = issuer;
  }
  return chain.length === 0 ? undefined : { certificateChain: chain };
}

/**
 * The RFC 8705 §3.1 thumbprint (base64url SHA-256 of the DER, as `certificateThumbprint`) of the
 * client certificate the TLS stack verified for this request's connection; `undefined` for plain
 * HTTP or an unverified peer. What a certificate-bound token's `cnf.x5t#S256` must equal.
 */
export function peerCertificateThumbprint(request: IncomingMessage): string | undefined {
  const socket = request.socket as Partial<TLSSocket>;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== "function") {
    return undefined;
  }
  // Node's fingerprint256 is the SHA-256 of the DER, colon-separated hex.
  const hex = socket.getPeerCertificate(false)?.fingerprint256;
  if (typeof hex !== "string" || !/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i.test(hex)) return undefined;
  return Buffer.from(hex.replace(/:/g, ""), "hex").toString("base64url");
}

/** The certificate credential `authenticateRequest` put on `AuthInfo.extra`, if any. */
export function certificateFromAuthInfo(
  authInfo: { extra?: Record<string, unknown> } | undefined,
): CertificateCredential | undefined {
  const chain = authInfo?.extra?.[CERTIFICATE_CHAIN_KEY];
  return Array.isArray(chain) && chain.every((entry) => entry instanceof Uint8Array)
    ? { certificateChain: chain }
    : undefined;
}
