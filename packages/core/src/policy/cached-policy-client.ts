import { type Clock, systemClock } from "../clock.js";
import type { RevocationList } from "../identity/revocation-list.js";
import { contentKey } from "../internal/content-key.js";
import type { AccessRequest } from "./access-request.js";
import type { Decision } from "./decision.js";
import type { EvaluateOptions, PolicyClient } from "./policy-client.js";

/** Options of {@link CachedPolicyClient}. */
export interface CachedPolicyClientOptions {
  /** How long a decision may be reused. Default 5,000 ms; at most 60,000. */
  readonly ttlMs?: number;
  /** Default 10,000 decisions. */
  readonly maxEntries?: number;
  /** Its changes drop every cached decision. */
  readonly revocations?: RevocationList;
  /** Time source for the TTL. Default: the system clock. */
  readonly clock?: Clock;
}

interface Entry {
  readonly decision: Decision;
  readonly expires: number;
  readonly policyVersion: number;
  readonly revocationVersion: number | undefined;
}

/**
 * Reuses decisions for identical requests. Never serves a decision past its TTL, past a change of
 * the policies (the inner client's `version()`), or past a revocation (SECURITY.md C33). The
 * key is the whole request with the time reduced to the minute in the configured zone (date,
 * hour, minute, weekday), so a cached decision never crosses a business-hours boundary; policies
 * that read `epochSeconds` or `instant` at finer grain should not be cached. Only decisions are
 * cached: a failure to decide (`policy_unavailable`) is never remembered. An inner client
 * without `version()` is taken as never changing, so only the TTL bounds its entries.
 */
export class CachedPolicyClient implements PolicyClient {
  readonly #entries = new Map<string, Entry>();
  readonly #ttl: number;
  readonly #max: number;
  readonly #clock: Clock;

  constructor(
    private readonly inner: PolicyClient,
    private readonly options: CachedPolicyClientOptions = {},
  ) {
    this.#ttl = Math.min(options.ttlMs ?? 5000, 60_000);
    this.#max = options.maxEntries ?? 10_000;
    this.#clock = options.clock ?? systemClock;
  }

  async evaluate(request: AccessRequest, options: EvaluateOptions = {}): Promise<Decision> {
    const key = keyOf(request);
    const now = this.#clock.now();
    const policyVersion = this.inner.version?.() ?? 0;
    const revocationVersion = this.options.revocations?.version();
    const hit = this.#entries.get(key);
    if (
      hit !== undefined &&
      hit.expires > now &&
      hit.policyVersion === policyVersion &&
      hit.revocationVersion === revocationVersion
    ) {
      return hit.decision;
    }
    const decision = await this.inner.evaluate(request, options);
    if (this.#entries.size >= this.#max)
      this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, {
      decision,
      expires: now + this.#ttl,
      policyVersion,
      revocationVersion,
    });
    return decision;
  }

  version(): number {
    return this.inner.version?.() ?? 0;
  }

  /** Drops every cached decision. */
  clear(): void {
    this.#entries.clear();
  }

  async close(): Promise<void> {
    this.#entries.clear();
    await this.inner.close?.();
  }
}

/**
 * The cache key: the whole request, with the time reduced to the minute in its zone. The subject
 * a gate builds is frozen and reused while the caller's token and record stay the same, so it
 * stands in the key as a short tag, and on the hot path only the action, resource and context
 * are serialised.
 */
function keyOf(request: AccessRequest): string {
  const { time, ...context } = request.context;
  return `${contentKey(request.subject)}\n${JSON.stringify([
    request.action,
    request.resource,
    context,
    [time.timeZone, time.date, time.hour, time.minute, time.weekday],
  ])}`;
}
