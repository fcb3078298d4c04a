import { type Clock, systemClock } from "../../clock.js";
import { AgentGateError, type AgentGateErrorCode } from "../../errors.js";
import type { CertificateAuthenticator } from "../../gate/certificate-credential.js";
import { AgentId } from "../../identity/agent-id.js";
import type { AgentRegistry } from "../../identity/agent-registry.js";
import type { VerifiedAgent } from "../../identity/agent-token.js";
import type { RevocationList } from "../../identity/revocation-list.js";
import { checkAgentChain, type UsableAgentToken } from "../../identity/verify-agent-token.js";
import type { TrustBundle } from "./trust-bundle.js";
import { fingerprintOf, x509 } from "./x509-runtime.js";

/** What {@link verifyAgentCertificate} checks against. */
export interface VerifyAgentCertificateOptions {
  /** The trust domain's X.509 authorities. */
  readonly bundle: TrustBundle;
  /** The trust domain the SVID's agent must belong to (default: the bundle's). */
  readonly trustDomain?: string;
  /** Revoked agents (`agent`), serials (`token`, id `x509:<serial>`) and CAs (`key`, id `x509:<fingerprint>`). */
  readonly revocations?: RevocationList;
  /** Every agent must be registered, not suspended, not expired: the gate's own check. */
  readonly registry: AgentRegistry;
  /** When given, the serial must be one the authority recorded for this very agent. */
  readonly serials?: { agentOf(serial: string): string | undefined };
  /** Recorded as the identity's `audience` (a certificate names none). */
  readonly audience?: string;
  /** Allowed clock skew on `notBefore`/`notAfter`, seconds (default 30). */
  readonly clockSkewSeconds?: number;
  readonly clock?: Clock;
  /** Called once the certificate verifies, before the registry is asked (for audit). */
  readonly onVerified?: (agent: VerifiedAgent) => void;
}

/** A certificate chain: PEM text (leaf first), or each certificate as PEM or DER bytes. */
export type CertificateChain = string | readonly (string | Uint8Array)[];

const MAX_CHAIN = 4;
const MAX_CERTIFICATE_BYTES = 16_384;
const FORBIDDEN_LEAF_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/**
 * Verifies an X.509-SVID chain (leaf first) the way the gate verifies a token and returns the
 * same {@link UsableAgentToken}: the SPIFFE X509-SVID leaf profile (exactly one URI SAN, a
 * canonical agent id of the trust domain; not a CA; `digitalSignature`, no `keyCertSign` or
 * `cRLSign`), validity of every certificate with skew, the signatures up to an authority of the
 * bundle (never one the chain itself brings), revocation of the agent, the serial and the CA,
 * the serial recorded for the agent, and then the registry through the very function tokens go
 * through (L90). The proven identity's `tokenId` is `x509:<serial>`, its `certificate` the serial
 * and fingerprint; its scopes are the registry's widest (a certificate proves identity, policy
 * decides the rest).
 *
 * Refusals are `token_invalid` with `details.check` (`format`, `san`, `trust_domain`,
 * `leaf_ca`, `key_usage`, `nbf`, `chain`, `serial`), `token_expired` (`exp`), `token_revoked`
 * (`serial`), `agent_revoked`, and the registry's codes. Nothing else escapes.
 *
 * @example
 * ```ts
 * const { agent } = await verifyAgentCertificate(socket.getPeerCertificate(true).raw, { bundle, registry });
 * ```
 */
export async function verifyAgentCertificate(
  chain: CertificateChain,
  options: VerifyAgentCertificateOptions,
): Promise<UsableAgentToken> {
  const clock = options.clock ?? systemClock;
  const skew = (options.clockSkewSeconds ?? 30) * 1000;
  const trustDomain = options.trustDomain ?? options.bundle.trustDomain;
  const certificates = parseChain(chain);
  const leaf = certificates[0] as x509.X509Certificate;

  const agentId = checkLeafProfile(leaf, trustDomain);
  const now = clock.now();
  for (const [index, certificate] of certificates.entries()) {
    checkValidity(certificate, now, skew, index === 0 ? "" : " (an issuing CA)");
  }
  const anchor = await checkPath(certificates, options.bundle, now, skew);

  const serial = leaf.serialNumber.toLowerCase();
  const fingerprint = await fingerprintOf(leaf);
  const caId = `x509:${await fingerprintOf(anchor)}`;
  const revocations = options.revocations;
  if (revocations?.isRevoked("agent", agentId.toString()) === true) {
    throw new AgentGateError("agent_revoked", `Agent ${agentId} is revoked.`, {
      details: { agent: agentId.toString(), check: "agent" },
    });
  }
  if (revocations?.isRevoked("token", `x509:${serial}`) === true) {
    throw refuse("token_revoked", "serial", `certificate serial ${serial} is revoked`);
  }
  if (revocations?.isRevoked("key", caId) === true) {
    throw refuse("token_invalid", "chain", "the issuing authority is revoked");
  }
  if (options.serials !== undefined && options.serials.agentOf(serial) !== agentId.toString()) {
    throw refuse("token_invalid", "serial", `serial ${serial} was not issued to ${agentId}`);
  }

  const provisional = identityOf(
    agentId,
    leaf,
    { serial, fingerprint, caId, trustDomain },
    options,
    [],
  );
  options.onVerified?.(provisional);
  const usable = await checkAgentChain(provisional, options.registry, clock);
  const record = usable.record;
  const agent = Object.freeze({
    ...provisional,
    scopes: Object.freeze([...record.maxScopes]),
    attributes: Object.freeze({
      owner: record.owner,
      supervision: record.supervision,
      ...(record.team === undefined ? {} : { team: record.team }),
      ...(record.purpose === undefined ? {} : { purpose: record.purpose }),
    }),
  });
  return { agent, record, scopes: agent.scopes };
}

function parseChain(chain: CertificateChain): x509.X509Certificate[] {
  let entries: readonly (string | Uint8Array)[];
  if (typeof chain === "string") {
    entries = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  } else if (Array.isArray(chain)) {
    entries = chain;
  } else {
    throw refuse("token_invalid", "format", "no certificate chain");
  }
  if (entries.length === 0) throw refuse("token_invalid", "format", "no certificate");
  if (entries.length > MAX_CHAIN) {
    throw refuse("token_invalid", "format", `a chain of more than ${MAX_CHAIN} certificates`);
  }
  return entries.map((entry) => {
    if (entry.length > MAX_CERTIFICATE_BYTES * 2) {
      throw refuse("token_invalid", "format", "a certificate is too large");
    }
    try {
      return new x509.X509Certificate(typeof entry === "string" ? entry : Uint8Array.from(entry));
    } catch (error) {
      throw refuse("token_invalid", "format", "not a well-formed certificate", error);
    }
  });
}

/** SPIFFE X509-SVID §4 and §5 for a leaf, and the agent id it names. */
function checkLeafProfile(leaf: x509.X509Certificate, trustDomain: string): AgentId {
  const constraints = leaf.getExtension(x509.BasicConstraintsExtension);
  if (constraints?.ca === true) {
    throw refuse("token_invalid", "leaf_ca", "a CA certificate was presented as an agent's");
  }
  const usage = leaf.getExtension(x509.KeyUsagesExtension);
  if (usage === null || (usage.usages & x509.KeyUsageFlags.digitalSignature) === 0) {
    throw refuse("token_invalid", "key_usage", "the leaf lacks digitalSignature");
  }
  if ((usage.usages & FORBIDDEN_LEAF_USAGE) !== 0) {
    throw refuse("token_invalid", "leaf_ca", "the leaf may sign certificates or CRLs");
  }
  const sans = leaf.getExtensions(x509.SubjectAlternativeNameExtension);
  const uris = sans.flatMap((san) => san.names.items.filter((name) => name.type === "url"));
  if (sans.length !== 1 || uris.length !== 1) {
    throw refuse("token_invalid", "san", `an SVID has exactly one URI SAN, not ${uris.length}`);
  }
  const uri = (uris[0] as x509.GeneralName).value;
  const id = AgentId.tryParse(uri);
  // AgentId parses the canonical form only: `spiffe://ACME.example/agent/x`, a trailing slash,
  // another path or scheme is not the same principal spelled differently, it is no agent (G55).
  if (id === undefined) {
    throw refuse("token_invalid", "san", "the URI SAN is not a canonical agent id");
  }
  if (id.trustDomain !== trustDomain) {
    throw refuse("token_invalid", "trust_domain", `the agent is of trust domain ${id.trustDomain}`);
  }
  return id;
}

function checkValidity(
  certificate: x509.X509Certificate,
  now: number,
  skew: number,
  which: string,
): void {
  if (certificate.notAfter.getTime() + skew <= now) {
    throw refuse("token_expired", "exp", `the certificate${which} has expired`);
  }
  if (certificate.notBefore.getTime() - skew > now) {
    throw refuse("token_invalid", "nbf", `the certificate${which} is not valid yet`);
  }
}

/**
 * Each certificate signed by the next, each issuer a CA, and the last one signed by (or equal
 * to) an authority of the bundle. Roots the chain brings are never trusted for being there.
 */
async function checkPath(
  chain: readonly x509.X509Certificate[],
  bundle: TrustBundle,
  now: number,
  skew: number,
): Promise<x509.X509Certificate> {
  for (let index = 0; index + 1 < chain.length; index++) {
    const child = chain[index] as x509.X509Certificate;
    const parent = chain[index + 1] as x509.X509Certificate;
    if (parent.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
      throw refuse("token_invalid", "chain", "an issuer in the chain is not a CA");
    }
    if (!(await signedBy(child, parent))) {
      throw refuse("token_invalid", "chain", "the chain's signatures do not link");
    }
  }
  const last = chain[chain.length - 1] as x509.X509Certificate;
  const lastFingerprint = await fingerprintOf(last);
  for (const authority of bundle.authorities) {
    if ((await fingerprintOf(authority)) === lastFingerprint) return authority;
  }
  for (const authority of bundle.authorities) {
    if (last.issuer !== authority.subject) continue;
    if (authority.notAfter.getTime() + skew <= now || authority.notBefore.getTime() - skew > now) {
      continue;
    }
    if (await signedBy(last, authority)) return authority;
  }
  throw refuse(
    "token_invalid",
    "chain",
    "the chain does not lead to this trust domain's authority",
  );
}

async function signedBy(
  child: x509.X509Certificate,
  parent: x509.X509Certificate,
): Promise<boolean> {
  if (child.issuer !== parent.subject) return false;
  try {
    return await child.verify({ publicKey: parent.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function identityOf(
  agentId: AgentId,
  leaf: x509.X509Certificate,
  facts: { serial: string; fingerprint: string; caId: string; trustDomain: string },
  options: VerifyAgentCertificateOptions,
  scopes: readonly string[],
): VerifiedAgent {
  const id = agentId.toString();
  return Object.freeze({
    agent: agentId,
    principal: Object.freeze({ id, kind: "agent" as const }),
    chain: Object.freeze([id]),
    agents: Object.freeze([agentId]),
    delegated: false,
    scopes: Object.freeze([...scopes]),
    tokenId: `x509:${facts.serial}`,
    keyId: facts.caId,
    issuer: `spiffe://${facts.trustDomain}`,
    audience: options.audience ?? "",
    issuedAt: Math.floor(leaf.notBefore.getTime() / 1000),
    expiresAt: Math.floor(leaf.notAfter.getTime() / 1000),
    attributes: Object.freeze({ owner: "", supervision: "autonomous" as const }),
    certificate: Object.freeze({ serial: facts.serial, fingerprint: facts.fingerprint }),
  });
}

function refuse(
  code: AgentGateErrorCode,
  check: string,
  reason: string,
  cause?: unknown,
): AgentGateError {
  return new AgentGateError(code, `Invalid certificate: ${reason}.`, {
    details: { check },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The gate's {@link CertificateAuthenticator} over {@link verifyAgentCertificate}: give it to
 * `new Gate({ ..., certificates })` (or `createGate`) and an mTLS peer's chain is a credential.
 *
 * @example
 * ```ts
 * const gate = new Gate({ ...ports, certificates: x509CertificateAuthenticator({ bundle: ca.bundle(), registry, revocations, serials: ca }) });
 * ```
 */
export function x509CertificateAuthenticator(
  options: Omit<VerifyAgentCertificateOptions, "audience" | "onVerified">,
): CertificateAuthenticator {
  return {
    authenticate: (chain, call) =>
      verifyAgentCertificate(chain, {
        ...options,
        audience: call.audience,
        ...(call.onVerified === undefined ? {} : { onVerified: call.onVerified }),
      }),
  };
}
