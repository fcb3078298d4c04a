import type { VerifiedAgent } from "./agent-token.js";

interface CacheEntry {
  readonly verified: VerifiedAgent;
  /** The audience it was verified for: a hit needs the same one. */
  readonly audience: string;
  /** ms since the epoch after which the entry is dead (exp + skew). */
  readonly deadline: number;
  /** Hit since eviction last passed over it (CLOCK's reference bit). */
  used: boolean;
}

/**
 * Verified tokens by token, at most `size` (0: none), least recently used evicted first by the
 * CLOCK (second-chance) approximation: a hit only marks its entry, so a hit never reorders the
 * cache. An entry dies at its deadline. Liveness (revocation, retired keys) is not its business:
 * the verifier re-checks it on every hit.
 */
export class VerifiedTokenCache {
  /** Oldest first (the CLOCK's hand starts at the oldest). */
  readonly #entries = new Map<string, CacheEntry>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  /** The live entry for `token` verified for `audience`, marked as used; a dead one is dropped. */
  get(token: string, audience: string, now: number): VerifiedAgent | undefined {
    const hit = this.#entries.get(token);
    if (hit === undefined) return undefined;
    if (now >= hit.deadline) {
      this.#entries.delete(token);
      return undefined;
    }
    if (hit.audience !== audience) return undefined;
    hit.used = true;
    return hit.verified;
  }

  /** Keeps `verified` for `token` until `deadline` (ms since the epoch). */
  set(token: string, audience: string, verified: VerifiedAgent, deadline: number): void {
    if (this.#size <= 0) return;
    const entries = this.#entries;
    entries.delete(token);
    if (entries.size >= this.#size) this.#evictOne();
    entries.set(token, { verified, audience, deadline, used: false });
  }

  clear(): void {
    this.#entries.clear();
  }

  /**
   * CLOCK eviction: from the oldest end, an entry hit since it was last passed over loses its mark
   * and moves to the young end; the first unmarked one goes. A Map's iterator also visits the
   * entries moved during the walk, so when every entry is marked the walk comes round to the
   * first one, now unmarked, and ends there: each entry is passed over at most twice, and
   * amortised over the hits that set the marks this is O(1).
   */
  #evictOne(): void {
    const entries = this.#entries;
    for (const [token, entry] of entries) {
      entries.delete(token);
      if (!entry.used) return;
      entry.used = false;
      entries.set(token, entry);
    }
  }
}
