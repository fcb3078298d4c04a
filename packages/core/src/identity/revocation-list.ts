import { type Clock, systemClock } from "../clock.js";
import type { AgentGateError } from "../errors.js";

/** What can be revoked: a whole agent, one token (by `jti`), or a signing key (by `kid`). */
export type RevocationKind = "agent" | "token" | "key";

/** One revocation. */
export interface Revocation {
  readonly kind: RevocationKind;
  /** Agent id, token id (`jti`) or key id (`kid`). */
  readonly id: string;
  /** ISO 8601 time of revocation. */
  readonly revokedAt: string;
  readonly reason?: string | undefined;
}

/**
 * The port for revocations. `isRevoked` is synchronous because it runs on every verification,
 * for every actor in a delegation chain, including verified-token cache hits: implementations
 * keep their state in memory and refresh it in the background or on a short throttle.
 *
 * Embedded defaults: {@link MemoryRevocationList}; in `@agentgate/core/node`,
 * `FileRevocationList`, which several processes on one host share (visible within 1 s).
 */
export interface RevocationList {
  /** Records a revocation; it takes effect for the next `isRevoked` in this process. */
  revoke(kind: RevocationKind, id: string, reason?: string): Promise<Revocation>;
  /** True when `id` of `kind` is revoked. Never throws; implementations fail closed. */
  isRevoked(kind: RevocationKind, id: string): boolean;
  /** Every revocation, oldest first. */
  list(): Promise<readonly Revocation[]>;
  /**
   * A number that changes whenever the set of revocations changes, so caches can drop what
   * they hold (SECURITY.md C33).
   */
  version(): number;
  /**
   * Why the list cannot answer right now (its store or feed is out of reach), or `undefined`
   * when it can. Optional: a verifier asks before every check and refuses with this error
   * (`revocation_unavailable`), so a list whose source went away denies with the right code
   * instead of answering from stale state. A list without it answers `isRevoked` fail-closed.
   */
  unavailable?(): AgentGateError | undefined;
}

/** A {@link RevocationList} in memory: for one process. */
export class MemoryRevocationList implements RevocationList {
  readonly #entries = new RevocationIndex();
  readonly #clock: Clock;
  #version = 0;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async revoke(kind: RevocationKind, id: string, reason?: string): Promise<Revocation> {
    const entry = createRevocation(kind, id, reason, this.#clock);
    this.#entries.add(entry);
    this.#version++;
    return entry;
  }

  isRevoked(kind: RevocationKind, id: string): boolean {
    return this.#entries.has(kind, id);
  }

  async list(): Promise<readonly Revocation[]> {
    return this.#entries.list();
  }

  version(): number {
    return this.#version;
  }
}

/**
 * Revocations by kind and id, oldest first; the first revocation of an id is kept. Looked up on
 * every verification with the very strings the verified token holds (no key is built per call).
 */
export class RevocationIndex {
  // A Map, not an object: a kind read from a file or a feed could be "__proto__".
  readonly #byKind = new Map<string, Map<string, Revocation>>([
    ["agent", new Map()],
    ["token", new Map()],
    ["key", new Map()],
  ]);
  readonly #all: Revocation[] = [];

  /** Adds `entry`; false when its kind and id are revoked already. */
  add(entry: Revocation): boolean {
    const byId = this.#byKind.get(entry.kind);
    if (byId === undefined || byId.has(entry.id)) return false;
    byId.set(entry.id, entry);
    this.#all.push(entry);
    return true;
  }

  /** True when `id` of `kind` was added. */
  has(kind: RevocationKind, id: string): boolean {
    return this.#byKind.get(kind)?.has(id) === true;
  }

  /** Every revocation, oldest first (a copy). */
  list(): Revocation[] {
    return this.#all.slice();
  }
}

/** A revocation record stamped with the clock's time. */
export function createRevocation(
  kind: RevocationKind,
  id: string,
  reason: string | undefined,
  clock: Clock,
): Revocation {
  return {
    kind,
    id,
    revokedAt: new Date(clock.now()).toISOString(),
    ...(reason === undefined ? {} : { reason }),
  };
}
