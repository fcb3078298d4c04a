import type { JSONWebKeySet } from "jose";
import { AgentGateError } from "../errors.js";
import { importVerificationKey, type VerificationKey } from "./signing-key.js";

/**
 * Where a verifier finds public keys by `kid`. Synchronous because it runs on every
 * verification, verified-token cache hits included (a retired key must stop verifying at once).
 * An {@link Authority} is a `KeySet`; {@link JwksKeySet} holds a published JWKS.
 */
export interface KeySet {
  /** The live key with this id, or `undefined` when it is unknown or retired. */
  getVerificationKey(kid: string): VerificationKey | undefined;
}

/**
 * A {@link KeySet} built from a JWKS document, for processes that verify tokens without holding
 * the authority's keys. Only EdDSA and ES256 keys with a `kid` and `alg` are accepted; a private
 * key in the set is refused. Nothing is ever fetched from a token's header (`jku`, `x5u`).
 */
export class JwksKeySet implements KeySet {
  #keys: ReadonlyMap<string, VerificationKey>;

  private constructor(keys: ReadonlyMap<string, VerificationKey>) {
    this.#keys = keys;
  }

  /** Imports every key of `jwks`; throws `key_store_invalid` for a malformed set. */
  static async fromJwks(jwks: JSONWebKeySet): Promise<JwksKeySet> {
    return new JwksKeySet(await importAll(jwks));
  }

  /** Replaces the keys with those of a newer JWKS; keys absent from it stop verifying at once. */
  async update(jwks: JSONWebKeySet): Promise<void> {
    this.#keys = await importAll(jwks);
  }

  getVerificationKey(kid: string): VerificationKey | undefined {
    return this.#keys.get(kid);
  }
}

async function importAll(jwks: JSONWebKeySet): Promise<Map<string, VerificationKey>> {
  if (typeof jwks !== "object" || jwks === null || !Array.isArray(jwks.keys)) {
    throw new AgentGateError("key_store_invalid", "The JWKS has no keys array.");
  }
  const keys = new Map<string, VerificationKey>();
  for (const jwk of jwks.keys) {
    const key = await importVerificationKey(jwk);
    if (keys.has(key.kid)) {
      throw new AgentGateError("key_store_invalid", `The JWKS holds kid ${key.kid} twice.`);
    }
    keys.set(key.kid, key);
  }
  return keys;
}
