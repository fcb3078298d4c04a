import { type Clock, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import type { AgentId } from "../identity/agent-id.js";
import type { IssuedToken } from "../identity/agent-token.js";
import type { Authority, IssueTokenOptions } from "../identity/authority.js";

/** Anything that yields a current token: a raw token string, or a provider. */
export type CredentialSource = string | { token(): Promise<string> };

/** Options of {@link CredentialProvider}. */
export interface CredentialProviderOptions {
  /** Obtains a new token (from an in-process `Authority`, or a token endpoint). */
  readonly issue: () => Promise<IssuedToken | { token: string; expiresAt: number }>;
  /** Refresh this many seconds before expiry (default 60, or a third of the lifetime if shorter). */
  readonly refreshBeforeSeconds?: number;
  /** Time source for renewal. Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * Holds one agent's identity on the agent side and hands out a fresh short-lived token: it
 * re-issues before expiry, so a long-running agent never presents an expired token and never
 * needs a long-lived secret in its prompt or tools. Concurrent callers share one refresh.
 *
 * @example
 * ```ts
 * const credentials = CredentialProvider.forAgent(authority, agentId, { audience: "https://crm.acme.example" });
 * await gate.invoke({ tool, arguments: args, credential: credentials }, run);
 * ```
 */
export class CredentialProvider {
  readonly #options: CredentialProviderOptions;
  readonly #clock: Clock;
  #current: { token: string; refreshAt: number; expiresAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: CredentialProviderOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** A provider that issues tokens for `agent` from an in-process authority. */
  static forAgent(
    authority: Authority,
    agent: string | AgentId,
    options: IssueTokenOptions,
  ): CredentialProvider {
    return new CredentialProvider({
      issue: () => authority.issueToken(agent, options),
      clock: authority.clock,
    });
  }

  /** A token valid for at least the refresh window; re-issued when needed. */
  async token(): Promise<string> {
    const current = this.#current;
    if (current !== undefined && this.#clock.now() / 1000 < current.refreshAt) return current.token;
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Drops the held token, e.g. after the server said it was revoked. */
  invalidate(): void {
    this.#current = undefined;
  }

  /** Never prints the token. */
  toJSON(): { expiresAt: number | undefined } {
    return { expiresAt: this.#current?.expiresAt };
  }

  async #refresh(): Promise<string> {
    const issued = await this.#options.issue();
    const token = issued.token;
    if (typeof token !== "string" || token.length === 0) {
      throw new AgentGateError(
        "token_invalid",
        "The credential provider's issuer returned no token.",
      );
    }
    const now = this.#clock.now() / 1000;
    // Refresh `refreshBeforeSeconds` before expiry, or at two thirds of a short token's life.
    const window = Math.min(this.#options.refreshBeforeSeconds ?? 60, (issued.expiresAt - now) / 3);
    this.#current = { token, refreshAt: issued.expiresAt - window, expiresAt: issued.expiresAt };
    return token;
  }
}
