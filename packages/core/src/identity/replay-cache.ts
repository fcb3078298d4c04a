import { type Clock, systemClock } from "../clock.js";

/**
 * Remembers token ids (`jti`) until their token expires, so a second use is refused
 * (SECURITY.md A14). Keyed on `jti`, never on the token string: a token has several valid
 * encodings (J70).
 */
export interface ReplayCache {
  /**
   * Records `id` until `expiresAt` (seconds since the epoch). Resolves `true` the first time,
   * `false` when `id` was already recorded and has not expired. A cache shared by several hosts
   * (`@agentgate/postgres`) answers asynchronously; when it cannot answer it rejects, and the
   * caller refuses the token (fail closed).
   */
  remember(id: string, expiresAt: number): boolean | Promise<boolean>;
}

/** A {@link ReplayCache} in memory, bounded: when full it refuses new ids rather than forget old ones. */
export class MemoryReplayCache implements ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #clock: Clock;
  readonly #maxEntries: number;

  constructor(options: { clock?: Clock; maxEntries?: number } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  remember(id: string, expiresAt: number): boolean {
    const now = this.#clock.now() / 1000;
    const seen = this.#seen.get(id);
    if (seen !== undefined && seen > now) return false;
    if (this.#seen.size >= this.#maxEntries) {
      this.#prune(now);
      // Forgetting a live id would let it replay; refusing is the fail-closed choice.
      if (this.#seen.size >= this.#maxEntries) return false;
    }
    this.#seen.set(id, expiresAt);
    return true;
  }

  #prune(now: number): void {
    for (const [id, expiresAt] of this.#seen) if (expiresAt <= now) this.#seen.delete(id);
  }
}
