import {
  AgentGateError,
  type Revocation,
  RevocationIndex,
  type RevocationKind,
  type RevocationList,
} from "@agentgate/core";

/** Options of {@link FeedRevocationList}. */
export interface FeedRevocationListOptions {
  /** The AgentGate server's base URL. */
  readonly url: string;
  /** Poll interval. Default 1,000 ms. */
  readonly intervalMs?: number;
  /**
   * With no successful poll for this long, every check answers "revoked" (fail closed).
   * Default 10,000 ms.
   */
  readonly maxStalenessMs?: number;
  /** The HTTP client. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * A `RevocationList` for a gate in another process or on another host: it polls the
 * server's `/revocations` feed (new entries only) and answers checks from memory. When the feed
 * has not answered for `maxStalenessMs`, every check answers revoked: a gate that cannot learn of
 * revocations denies rather than trust stale state. Revoking goes through the server's admin
 * endpoint, not through this list.
 */
export class FeedRevocationList implements RevocationList {
  readonly #entries = new RevocationIndex();
  readonly #options: FeedRevocationListOptions;
  readonly #fetch: typeof fetch;
  readonly #timer: ReturnType<typeof setInterval>;
  #next = 0;
  #lastSuccess = 0;
  #version = 0;

  private constructor(options: FeedRevocationListOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#timer = setInterval(
      () => void this.poll().catch(() => undefined),
      options.intervalMs ?? 1000,
    );
    this.#timer.unref();
  }

  /** Starts polling; resolves after the first successful poll, rejects with `revocation_unavailable`. */
  static async start(options: FeedRevocationListOptions): Promise<FeedRevocationList> {
    const list = new FeedRevocationList(options);
    try {
      await list.poll();
    } catch (error) {
      list.stop();
      throw error;
    }
    return list;
  }

  /** Fetches entries appended since the last poll. */
  async poll(): Promise<void> {
    let body: { revocations?: Revocation[]; next?: number };
    try {
      const response = await this.#fetch(
        `${this.#options.url.replace(/\/+$/, "")}/revocations?since=${this.#next}`,
        { signal: AbortSignal.timeout(2000) },
      );
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new AgentGateError("revocation_unavailable", "The revocation feed did not answer.", {
        cause: error,
      });
    }
    for (const entry of body.revocations ?? []) if (this.#entries.add(entry)) this.#version++;
    if (typeof body.next === "number") this.#next = body.next;
    this.#lastSuccess = Date.now();
  }

  async revoke(): Promise<Revocation> {
    throw new AgentGateError(
      "invalid_configuration",
      "Revoke through the AgentGate server's admin endpoint; the feed is read-only.",
    );
  }

  isRevoked(kind: RevocationKind, id: string): boolean {
    if (Date.now() - this.#lastSuccess > (this.#options.maxStalenessMs ?? 10_000)) return true;
    return this.#entries.has(kind, id);
  }

  async list(): Promise<readonly Revocation[]> {
    return this.#entries.list();
  }

  version(): number {
    return this.#version;
  }

  /** Stops polling. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
