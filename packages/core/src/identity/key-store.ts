import type { StoredKey } from "./signing-key.js";

/**
 * The port for where an authority's keys rest. Embedded defaults: {@link MemoryKeyStore}, and
 * in `@agentgate/core/node` the `FileKeyStore` (one 0600 file per key under `.agentgate/keys`).
 * A KMS- or HSM-backed store implements the same three methods.
 *
 * `load` rejects with `key_store_invalid` when the store is missing or corrupt, so that a broken
 * store stops start-up instead of failing the first call (SECURITY.md H59).
 */
export interface KeyStore {
  /** Every stored key, oldest first. */
  load(): Promise<readonly StoredKey[]>;
  /** Stores a key, replacing one with the same `kid`. */
  save(key: StoredKey): Promise<void>;
  /** Deletes a key; resolves when it is gone (also when it was never there). */
  remove(kid: string): Promise<void>;
}

/** A {@link KeyStore} in memory: keys die with the process. For tests and demos. */
export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, StoredKey>();

  async load(): Promise<readonly StoredKey[]> {
    return [...this.#keys.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  async save(key: StoredKey): Promise<void> {
    this.#keys.set(key.kid, structuredClone(key));
  }

  async remove(kid: string): Promise<void> {
    this.#keys.delete(kid);
  }

  /** Public parts only, so a logged store never shows private keys. */
  toJSON(): { keys: string[] } {
    return { keys: [...this.#keys.keys()] };
  }
}
