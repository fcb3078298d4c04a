/**
 * `@agentgate/core/x509`: the authority as an X.509 CA for its trust domain (X.509-SVIDs), the
 * trust bundle, and the verification of an SVID chain into the identity the gate uses. Node.js
 * only (it loads `@peculiar/x509` and the Reflect metadata polyfill it needs), kept apart from the
 * edge-ready root entry and from `@agentgate/core/node`.
 */

import "./x509-runtime.js";

export {
  CertificateAuthority,
  type CertificateAuthorityOptions,
  generateSvidKeyPair,
  type IssuedSvid,
  type IssueSvidOptions,
  privateKeyToPem,
  SVID_LIFETIME,
} from "./certificate-authority.js";
export { type CertificateSummary, describeCertificate } from "./describe-certificate.js";
export { type SvidMaterial, SvidProvider, type SvidProviderOptions } from "./svid-provider.js";
export { type SpiffeBundleJwks, TrustBundle, type X509BundleJwk } from "./trust-bundle.js";
export {
  type CertificateChain,
  type VerifyAgentCertificateOptions,
  verifyAgentCertificate,
  x509CertificateAuthenticator,
} from "./verify-agent-certificate.js";
