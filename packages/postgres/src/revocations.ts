import {
  AgentGateError,
  type Clock,
  type Revocation,
  RevocationIndex,
  type RevocationKind,
  type RevocationList,
  systemClock,
} from "@agentgate/core";
import type pg from "pg";
import { refuseNul, unavailable } from "./database.js";
import type { Listener } from "./listener.js";

const KINDS = new Set<string>(["agent", "token", "key"]);
/** The longest id a revocation takes. */
const MAX_ID = 2048;

interface Row {
  seq: string;
  kind: string;
  id: string;
  revoked_at: string;
  reason: string | null;
}

/**
 * A {@link RevocationList} in the `revocations` table. Every process keeps the whole list in
 * memory (checks are synchronous and run on every call); a trigger NOTIFYs each insert, so a
 * revocation made on any host reaches every connected gate in milliseconds (`LISTEN/NOTIFY`),
 * and the list reads what it missed (by sequence number) after a reconnect.
 *
 * While the listening connection is down the list cannot learn of revocations: `unavailable()`
 * returns a `revocation_unavailable` error, which the verifier throws on every check, and
 * `isRevoked` answers `true` for everything (fail closed) until the list is back and caught up.
 */
export class PostgresRevocationList implements RevocationList {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #listener: Listener;
  readonly #clock: Clock;
  readonly #entries = new RevocationIndex();
  #next = 0;
  #version = 0;
  #caughtUp = false;
  #reading: Promise<void> | undefined;
  #again = false;

  /** @internal Built by `openPostgresStores`. */
  constructor(pool: pg.Pool, schema: string, listener: Listener, clock: Clock = systemClock) {
    this.#pool = pool;
    this.#schema = schema;
    this.#listener = listener;
    this.#clock = clock;
    listener.subscribe({
      notify: (table) => {
        if (table === "revocations") void this.#catchUp().catch(() => undefined);
      },
      connected: () => this.#catchUp(),
      lost: () => {
        this.#caughtUp = false;
        this.#version++;
      },
    });
  }

  async revoke(kind: RevocationKind, id: string, reason?: string): Promise<Revocation> {
    if (!KINDS.has(kind))
      throw new AgentGateError("invalid_configuration", `Unknown revocation kind.`);
    refuseNul("revocation_unavailable", "The revoked id", id);
    if (id.length > MAX_ID) {
      // Token ids, agent ids and key ids are short; a longer one cannot be indexed (or be real).
      throw new AgentGateError(
        "invalid_configuration",
        `A revoked id is at most ${MAX_ID} characters (this one has ${id.length}).`,
        { details: { check: "length" } },
      );
    }
    if (reason !== undefined) refuseNul("revocation_unavailable", "The revocation reason", reason);
    const entry: Revocation = {
      kind,
      id,
      revokedAt: new Date(this.#clock.now()).toISOString(),
      ...(reason === undefined ? {} : { reason }),
    };
    let stored: Revocation = entry;
    try {
      // No UPDATE needed (least privilege): a second revocation of an id keeps the first.
      const inserted = await this.#pool.query<Row>(
        `insert into ${this.#schema}.revocations (kind, id, revoked_at, reason) values ($1, $2, $3, $4)
         on conflict (kind, id) do nothing
         returning seq, kind, id, revoked_at, reason`,
        [kind, id, entry.revokedAt, reason ?? null],
      );
      const row =
        inserted.rows[0] ??
        (
          await this.#pool.query<Row>(
            `select seq, kind, id, revoked_at, reason from ${this.#schema}.revocations where kind = $1 and id = $2`,
            [kind, id],
          )
        ).rows[0];
      if (row !== undefined) stored = toRevocation(row);
    } catch (error) {
      throw unavailable("revocation_unavailable", "Recording a revocation", error);
    }
    // In effect here at once, before the NOTIFY comes back.
    if (this.#entries.add(stored)) this.#version++;
    return stored;
  }

  isRevoked(kind: RevocationKind, id: string): boolean {
    return !this.#live() || this.#entries.has(kind, id);
  }

  unavailable(): AgentGateError | undefined {
    if (this.#live()) return undefined;
    return new AgentGateError(
      "revocation_unavailable",
      "The revocation list's database connection is down: every call is denied until it is back.",
      { cause: this.#listener.lastError },
    );
  }

  async list(): Promise<readonly Revocation[]> {
    try {
      await this.#catchUp();
    } catch (error) {
      throw unavailable("revocation_unavailable", "Reading revocations", error);
    }
    return this.#entries.list();
  }

  version(): number {
    return this.#version;
  }

  #live(): boolean {
    return this.#caughtUp && this.#listener.up;
  }

  /** Reads revocations after the last one seen; one read at a time, again if asked meanwhile. */
  #catchUp(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#again = false;
          const result = await this.#pool.query<Row>(
            `select seq, kind, id, revoked_at, reason from ${this.#schema}.revocations where seq > $1 order by seq`,
            [this.#next],
          );
          for (const row of result.rows) {
            this.#next = Math.max(this.#next, Number(row.seq));
            if (KINDS.has(row.kind) && this.#entries.add(toRevocation(row))) this.#version++;
          }
        } while (this.#again);
        this.#caughtUp = true;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }
}

function toRevocation(row: Row): Revocation {
  return {
    kind: row.kind as RevocationKind,
    id: row.id,
    revokedAt: row.revoked_at,
    ...(row.reason === null ? {} : { reason: row.reason }),
  };
}
