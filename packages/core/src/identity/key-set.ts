import type { JSONWebKeySet } from "jose";
import { AgentGateError } from "../errors.js";
import { parseStrictJson } from "../internal/strict-json.js";
import { checkMetadataUrl, type MetadataUrlOptions } from "./metadata-url.js";
import { importVerificationKey, type VerificationKey } from "./signing-key.js";

/** Options of {@link JwksKeySet.fromUrl}. */
export interface JwksUrlOptions extends MetadataUrlOptions {
  /** Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Largest JWKS document accepted, in bytes. Default 65,536. */
  readonly maxBytes?: number;
  /** Gives up after this long. Default 5,000 ms. */
  readonly timeoutMs?: number;
}

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

  /**
   * Fetches a published JWKS (an authority's `/.well-known/jwks.json`) and imports it. The URL is
   * vetted first with `checkMetadataUrl` (https only, no loopback, private or link-local
   * address: SECURITY.md I67) and redirects are refused, since a redirect could lead to such
   * an address. Throws `invalid_configuration` for a refused URL and `key_store_invalid` for a
   * failed fetch or a malformed, oversized or duplicate-member document.
   *
   * @example
   * ```ts
   * const keys = await JwksKeySet.fromUrl("https://agents.acme.example/.well-known/jwks.json");
   * ```
   */
  static async fromUrl(url: string | URL, options: JwksUrlOptions = {}): Promise<JwksKeySet> {
    const target = checkMetadataUrl(url, options);
    const maxBytes = options.maxBytes ?? 65_536;
    let text: string;
    try {
      const response = await (options.fetch ?? fetch)(target, {
        redirect: "error",
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } catch (error) {
      throw new AgentGateError("key_store_invalid", "The JWKS could not be fetched.", {
        cause: error,
      });
    }
    if (text.length > maxBytes) {
      throw new AgentGateError("key_store_invalid", `The JWKS is larger than ${maxBytes} bytes.`);
    }
    let jwks: unknown;
    try {
      jwks = parseStrictJson(text, { maxDepth: 4 });
    } catch (error) {
      throw new AgentGateError("key_store_invalid", "The JWKS is not valid JSON.", {
        cause: error,
      });
    }
    return JwksKeySet.fromJwks(jwks as JSONWebKeySet);
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
