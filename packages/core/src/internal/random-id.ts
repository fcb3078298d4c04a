const POOL_SIZE = 4096;
const ID_BYTES = 16;
let pool = new Uint8Array(0);
let offset = POOL_SIZE;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/**
 * A random identifier of 128 bits from the platform CSPRNG (Web Crypto), as 32 hex characters.
 * Used for token ids (`jti`), invocation ids and event ids. Randomness is drawn 4 KiB at a time
 * and each byte used once, because a CSPRNG call per id dominated the gate's hot path.
 */
export function randomId(): string {
  if (offset + ID_BYTES > POOL_SIZE) {
    pool = new Uint8Array(POOL_SIZE);
    globalThis.crypto.getRandomValues(pool);
    offset = 0;
  }
  let id = "";
  for (let index = offset; index < offset + ID_BYTES; index++) id += HEX[pool[index] as number];
  offset += ID_BYTES;
  return id;
}
