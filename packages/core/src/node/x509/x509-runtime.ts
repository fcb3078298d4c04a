// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect
// metadata polyfill loaded before it; this module is imported first by every file of
// `@agentgate/core/x509`, so nothing else in core pays for (or sees) the polyfill.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

// Node's webcrypto is the Web Crypto the library types as the DOM `Crypto`.
x509.cryptoProvider.set(webcrypto as never);

/** The X.509 library, with Node's Web Crypto as its provider. */
export { x509 };

/** The key algorithm of every key the authority makes: ECDSA P-256 with SHA-256, which every TLS stack accepts. */
export const SVID_KEY_ALGORITHM = {
  name: "ECDSA",
  namedCurve: "P-256",
  hash: "SHA-256",
} as const;

/** Node's Web Crypto. */
export const subtle = webcrypto.subtle;

/** A Web Crypto key (Node's type: the repository compiles without the DOM library). */
export type CryptoKey = webcrypto.CryptoKey;

/** A Web Crypto key pair. */
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Lower-case hex of `bytes`. */
export function hex(bytes: ArrayBuffer): string {
  return Buffer.from(bytes).toString("hex");
}

/** The SHA-256 fingerprint of a certificate's DER, lower-case hex. */
export async function fingerprintOf(certificate: x509.X509Certificate): Promise<string> {
  return hex(await certificate.getThumbprint("SHA-256"));
}
