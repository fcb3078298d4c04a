import type { VerifiedAgent } from "../identity/agent-token.js";
import type { UsableAgentToken } from "../identity/verify-agent-token.js";

/**
 * A caller proven by its TLS client certificate instead of a token: the peer's chain, leaf
 * first, DER, exactly as the TLS stack verified it (mutual TLS). The gate trusts it only through
 * its {@link CertificateAuthenticator}, never because a transport says so.
 */
export interface CertificateCredential {
  readonly certificateChain: readonly Uint8Array[];
}

/**
 * The port through which a gate turns a {@link CertificateCredential} into an identity:
 * `x509CertificateAuthenticator` from `@agentgate/core/x509` (the trust bundle, revocations and
 * the registry, through the same registry check as tokens). A gate without one refuses
 * certificates.
 */
export interface CertificateAuthenticator {
  authenticate(
    chain: readonly Uint8Array[],
    options: { readonly audience: string; readonly onVerified?: (agent: VerifiedAgent) => void },
  ): Promise<UsableAgentToken>;
}

/** True when `value` is a {@link CertificateCredential}. */
export function isCertificateCredential(value: unknown): value is CertificateCredential {
  return (
    typeof value === "object" &&
    value !== null &&
    Array.isArray((value as { certificateChain?: unknown }).certificateChain)
  );
}
