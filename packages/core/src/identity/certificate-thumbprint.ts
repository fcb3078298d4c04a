import { base64url } from "jose";
import { AgentGateError } from "../errors.js";

/**
 * The RFC 8705 §3.1 thumbprint of a certificate: base64url(SHA-256(DER)), the value of a
 * certificate-bound token's `cnf["x5t#S256"]`. Takes the DER bytes or a PEM text (its first
 * `CERTIFICATE` block, the leaf of a chain file). A text without one, a block that is not base64
 * and an empty certificate (no bytes, or a block holding only white space) are
 * `invalid_configuration`: a token is never bound to the thumbprint of nothing.
 *
 * @example
 * ```ts
 * const token = await authority.issueToken(agentId, { audience, confirmation: { "x5t#S256": await certificateThumbprint(certPem) } });
 * ```
 */
export async function certificateThumbprint(certificate: Uint8Array | string): Promise<string> {
  const der = typeof certificate === "string" ? pemToDer(certificate) : certificate;
  if (der.length === 0)
    throw new AgentGateError("invalid_configuration", "The certificate is empty.");
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new Uint8Array(der));
  return base64url.encode(new Uint8Array(digest));
}

function pemToDer(pem: string): Uint8Array {
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (match === null)
    throw new AgentGateError("invalid_configuration", "No PEM CERTIFICATE block found.");
  let binary: string;
  try {
    binary = atob((match[1] as string).replace(/\s+/g, ""));
  } catch (cause) {
    throw new AgentGateError("invalid_configuration", "The PEM CERTIFICATE block is not base64.", {
      cause,
    });
  }
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
