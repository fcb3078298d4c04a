import { base64url } from "jose";

/**
 * A random identifier of 128 bits from the platform CSPRNG (Web Crypto), base64url encoded.
 * Used for token ids (`jti`), invocation ids and event ids.
 */
export function randomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return base64url.encode(bytes);
}
