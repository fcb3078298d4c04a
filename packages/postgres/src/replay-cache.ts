import { type Clock, type ReplayCache, systemClock } from "@agentgate/core";
import type pg from "pg";
import { unavailable } from "./database.js";

/**
 * A {@link ReplayCache} in the `replay` table: each token id (`jti`, DPoP proof id) is accepted
 * once across every host sharing the database (`insert … on conflict do nothing`, or a row whose
 * expiry passed). When the database does not answer, `remember` rejects with
 * `revocation_unavailable` and the verifier refuses the token (fail closed). Expired rows are
 * deleted now and then by whichever host is writing.
 */
export class PostgresReplayCache implements ReplayCache {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #clock: Clock;
  #writes = 0;

  /** @internal Built by `openPostgresStores`. */
  constructor(pool: pg.Pool, schema: string, clock: Clock = systemClock) {
    this.#pool = pool;
    this.#schema = schema;
    this.#clock = clock;
  }

  async remember(id: string, expiresAt: number): Promise<boolean> {
    // A token id with a NUL cannot be stored: refuse the token rather than key on a changed id.
    if (id.includes("\u0000") || id.length > 1024) return false;
    const now = this.#clock.now() / 1000;
    try {
      const result = await this.#pool.query(
        `insert into ${this.#schema}.replay (id, expires_at) values ($1, $2)
         on conflict (id) do update set expires_at = excluded.expires_at
         where ${this.#schema}.replay.expires_at <= $3`,
        [id, expiresAt, now],
      );
      if (++this.#writes % 1000 === 0) {
        void this.#pool
          .query(`delete from ${this.#schema}.replay where expires_at <= $1`, [now])
          .catch(() => undefined);
      }
      return (result.rowCount ?? 0) === 1;
    } catch (error) {
      throw unavailable(
        "revocation_unavailable",
        "The replay cache (whether this token was already used)",
        error,
      );
    }
  }
}
