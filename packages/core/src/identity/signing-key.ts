import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from "jose";
import { AgentGateError } from "../errors.js";

/**
 * The JWS algorithms AgentGate signs with: Ed25519 (`EdDSA`, the default), P-256 (`ES256`) or
 * RSA PKCS#1 v1.5 with SHA-256 over a 2048-bit modulus (`RS256`: the one algorithm every cloud's
 * workload identity federation accepts, Entra ID's federated credentials included).
 */
export type SigningAlgorithm = "EdDSA" | "ES256" | "RS256";

/** The JWS algorithms AgentGate signs and accepts. */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ["EdDSA", "ES256", "RS256"];

/** The RSA modulus length of generated `RS256` keys, in bits. */
export const RSA_MODULUS_BITS = 2048;

/** True when `value` names an algorithm AgentGate signs with. */
export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === "string" && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

/** jose's name for the key pair of each algorithm. */
const KEY_PAIR_ALGORITHM: Readonly<Record<SigningAlgorithm, string>> = {
  EdDSA: "Ed25519",
  ES256: "ES256",
  RS256: "RS256",
};

/**
 * A key as a {@link KeyStore} persists it, private part included. Keep these objects out of
 * logs; {@link SigningKey} is the in-memory form that never prints its private part.
 */
export interface StoredKey {
  /** RFC 7638 JWK thumbprint (SHA-256) of the public key: stable across restarts. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  /** Creation time, ms since the epoch. */
  readonly createdAt: number;
  /** When set: after this time (ms since the epoch) the key no longer verifies and leaves the JWKS. */
  readonly retiresAt?: number | undefined;
}

/** A public verification key as published in a JWKS. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly key: CryptoKey;
}

/**
 * A signing key in memory. The private key is a non-extractable `CryptoKey` held in a private
 * field, so neither `JSON.stringify`, `console.log` nor an error message can reveal it
 * (SECURITY.md H57).
 */
export class SigningKey implements VerificationKey {
  readonly #privateKey: CryptoKey;

  private constructor(
    readonly kid: string,
    readonly alg: SigningAlgorithm,
    privateKey: CryptoKey,
    readonly key: CryptoKey,
    readonly publicJwk: Readonly<JWK>,
    readonly createdAt: number,
    readonly retiresAt: number | undefined,
  ) {
    this.#privateKey = privateKey;
  }

  /**
   * Generates a new key pair from the platform CSPRNG (Web Crypto). Returns the persisted form;
   * load it with {@link SigningKey.fromStored}.
   */
  static async generate(alg: SigningAlgorithm, createdAt: number): Promise<StoredKey> {
    if (!isSigningAlgorithm(alg)) {
      throw new AgentGateError("invalid_configuration", `Unsupported signing algorithm ${alg}.`);
    }
    const pair = await generateKeyPair(KEY_PAIR_ALGORITHM[alg], {
      extractable: true,
      ...(alg === "RS256" ? { modulusLength: RSA_MODULUS_BITS } : {}),
    });
    const privateJwk = await exportJWK(pair.privateKey);
    const publicJwk = publicPart(await exportJWK(pair.publicKey));
    const kid = await calculateJwkThumbprint(publicJwk, "sha256");
    return {
      kid,
      alg,
      privateJwk: { ...privateJwk, kid, alg, use: "sig" },
      publicJwk: { ...publicJwk, kid, alg, use: "sig" },
      createdAt,
    };
  }

  /**
   * Imports a stored key, checking that the `kid` is the public key's thumbprint and that the
   * private and public parts belong together. Throws `key_store_invalid` otherwise.
   */
  static async fromStored(stored: StoredKey): Promise<SigningKey> {
    try {
      if (!isSigningAlgorithm(stored.alg)) throw new Error(`unsupported algorithm`);
      const publicJwk = publicPart(stored.publicJwk);
      const thumbprint = await calculateJwkThumbprint(publicJwk, "sha256");
      if (thumbprint !== stored.kid) throw new Error("kid is not the key's RFC 7638 thumbprint");
      if (
        stored.privateJwk.x !== publicJwk.x ||
        stored.privateJwk.y !== publicJwk.y ||
        stored.privateJwk.n !== publicJwk.n ||
        stored.privateJwk.e !== publicJwk.e
      ) {
        throw new Error("private and public parts do not match");
      }
      const privateKey = (await importJWK({ ...stored.privateJwk, alg: stored.alg }, stored.alg, {
        extractable: false,
      })) as CryptoKey;
      const key = (await importJWK({ ...publicJwk, alg: stored.alg }, stored.alg)) as CryptoKey;
      return new SigningKey(
        stored.kid,
        stored.alg,
        privateKey,
        key,
        Object.freeze({ ...publicJwk, kid: stored.kid, alg: stored.alg, use: "sig" }),
        stored.createdAt,
        stored.retiresAt,
      );
    } catch (error) {
      throw new AgentGateError(
        "key_store_invalid",
        `Key ${stored.kid} cannot be loaded: ${error instanceof Error ? error.message : "invalid key"}.`,
      );
    }
  }

  /** The private key, for signing inside AgentGate only. */
  privateKey(): CryptoKey {
    return this.#privateKey;
  }

  /** True while the key may verify tokens at time `now` (ms). */
  isLive(now: number): boolean {
    return this.retiresAt === undefined || now < this.retiresAt;
  }

  /** The public form only. */
  toJSON(): { kid: string; alg: SigningAlgorithm; publicJwk: Readonly<JWK> } {
    return { kid: this.kid, alg: this.alg, publicJwk: this.publicJwk };
  }
}

/** Imports a public JWK (from a JWKS) as a {@link VerificationKey}; throws `key_store_invalid`. */
export async function importVerificationKey(jwk: JWK): Promise<VerificationKey> {
  const alg = jwk.alg;
  if (!isSigningAlgorithm(alg)) {
    throw new AgentGateError("key_store_invalid", `JWK ${jwk.kid} has no supported "alg".`);
  }
  if (typeof jwk.kid !== "string" || jwk.kid.length === 0) {
    throw new AgentGateError("key_store_invalid", "A JWK in the set has no kid.");
  }
  if (jwk.d !== undefined) {
    throw new AgentGateError("key_store_invalid", `JWK ${jwk.kid} contains a private key.`);
  }
  try {
    const key = (await importJWK(publicPart(jwk) as JWK & { alg: string }, alg)) as CryptoKey;
    return { kid: jwk.kid, alg, key };
  } catch {
    throw new AgentGateError("key_store_invalid", `JWK ${jwk.kid} cannot be imported.`);
  }
}

/** Only the members that describe a public key (RFC 7638 §3.2 members plus `alg`). */
function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e, alg } = jwk;
  const part: JWK = kty === "RSA" ? { kty, n, e } : { kty, crv, x };
  if (kty !== "RSA" && y !== undefined) part.y = y;
  if (alg !== undefined) part.alg = alg;
  return part;
}
