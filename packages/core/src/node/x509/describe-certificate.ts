import { AgentGateError } from "../../errors.js";
import { fingerprintOf, x509 } from "./x509-runtime.js";

/** What `agentgate cert inspect` shows of one certificate. Nothing here is verified. */
export interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  /** Lower-case hex. */
  readonly serial: string;
  /** ISO 8601. */
  readonly notBefore: string;
  /** ISO 8601. */
  readonly notAfter: string;
  /** True for a CA certificate (basic constraints `cA`). */
  readonly ca: boolean;
  /** The URI SANs: for an SVID, exactly one agent id. */
  readonly uris: readonly string[];
  /** Key usage names (`digitalSignature`, `keyCertSign`...). */
  readonly keyUsage: readonly string[];
  /** SHA-256 of the DER, lower-case hex. */
  readonly fingerprint: string;
}

/**
 * Decodes every certificate of a PEM text, leaf first, without verifying anything: for
 * inspection only. Throws `invalid_configuration` when there is no certificate to decode.
 */
export async function describeCertificate(pem: string): Promise<CertificateSummary[]> {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks === null) {
    throw new AgentGateError("invalid_configuration", "No PEM certificate found.");
  }
  return Promise.all(
    blocks.map(async (block) => {
      const certificate = new x509.X509Certificate(block);
      const usage = certificate.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
      return {
        subject: certificate.subject,
        issuer: certificate.issuer,
        serial: certificate.serialNumber.toLowerCase(),
        notBefore: certificate.notBefore.toISOString(),
        notAfter: certificate.notAfter.toISOString(),
        ca: certificate.getExtension(x509.BasicConstraintsExtension)?.ca === true,
        uris: certificate
          .getExtensions(x509.SubjectAlternativeNameExtension)
          .flatMap((san) => san.names.items.filter((name) => name.type === "url"))
          .map((name) => name.value),
        keyUsage: Object.entries(x509.KeyUsageFlags)
          .filter(([, flag]) => typeof flag === "number" && (usage & flag) !== 0)
          .map(([name]) => name),
        fingerprint: await fingerprintOf(certificate),
      };
    }),
  );
}
