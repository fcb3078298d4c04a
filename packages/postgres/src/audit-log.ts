import { hash as digest } from "node:crypto";
import { hostname } from "node:os";
import { AgentGateError, type AuditEvent, type AuditSink } from "@agentgate/core";
import {
  auditOrigin,
  CheckpointKey,
  CompactRange,
  CosignedRange,
  cosignedCheckpoint,
  type WitnessClient,
} from "@agentgate/core/node";
import pg from "pg";
import { unavailable } from "./database.js";

/** The previous hash of a chain's first record, as in the file log. */
export const GENESIS_HASH = "0".repeat(64);

const WRITER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Options of {@link PostgresAuditLog.open}. */
export interface PostgresAuditLogOptions {
  /**
   * This writer's chain: letters, digits, `.`, `_`, `-`, at most 64. Default `<host>-<random>`,
   * a new chain per process. A writer whose id another live process holds is refused.
   */
  readonly writerId?: string;
  /** The checkpoint signing key. Default: `CheckpointKey.load()` (env, else the key file). */
  readonly checkpointKey?: CheckpointKey;
  /** A signed checkpoint after this many records. Default 1,000; 0 leaves the timer and close. */
  readonly checkpointEvery?: number;
  /** And at least this often while records arrive. Default 1,000 ms; 0 turns the timer off. */
  readonly checkpointIntervalMs?: number;
  /** The witness that cosigns each checkpoint; its cosigned note is stored beside it. */
  readonly witness?: WitnessClient;
  /** The witness's verifier key: a cosignature is checked with it before it is kept. */
  readonly witnessKey?: string;
  /** Records per INSERT at most (group commit). Default 2,000. */
  readonly maxBatch?: number;
}

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The audit trail in PostgreSQL: one hash chain per writer process (`audit_records`, keyed on
 * writer and sequence number, so no two records ever share a place: no fork, however many
 * writers), the same record format, RFC 9162 leaves and signed checkpoints (`audit_checkpoints`)
 * as the file log, and the witness's cosigned checkpoints stored beside them.
 *
 * Group commit: records of concurrent callers are inserted by one statement on this writer's
 * own connection; each `write` resolves only after the COMMIT that made it durable (PostgreSQL's
 * `synchronous_commit`, on by default). A failed insert rejects its callers with
 * `audit_unavailable` and every later write rejects too until the connection is back and the
 * chain's tail has been read again, so nothing is acknowledged that is not stored, and nothing
 * stored is written over. The writer holds a session advisory lock on its chain.
 */
export class PostgresAuditLog implements AuditSink {
  /** This writer's chain id. */
  readonly writerId: string;
  /** The chain's origin in its checkpoints (`agentgate.dev/audit/<log id>`). */
  readonly origin: string;
  readonly #config: pg.ClientConfig;
  readonly #schema: string;
  readonly #options: PostgresAuditLogOptions;
  readonly #key: CheckpointKey;
  #client: pg.Client | undefined;
  #seq = 0;
  #prev = GENESIS_HASH;
  #tree = new CompactRange();
  // The tree at the size the witness last cosigned, and the leaves after it (bounded memory).
  #anchor = new CosignedRange();
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #failure: AgentGateError | undefined;
  #reconnecting: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #checkpointed = 0;
  #witnessBusy: Promise<void> | undefined;
  #latest: { readonly note: string; readonly tree: CompactRange } | undefined;
  readonly #ticker: ReturnType<typeof setInterval> | undefined;

  private constructor(
    config: pg.ClientConfig,
    schema: string,
    writerId: string,
    origin: string,
    key: CheckpointKey,
    options: PostgresAuditLogOptions,
  ) {
    this.#config = config;
    this.#schema = schema;
    this.writerId = writerId;
    this.origin = origin;
    this.#key = key;
    this.#options = options;
    const interval = options.checkpointIntervalMs ?? 1000;
    if (interval > 0) {
      this.#ticker = setInterval(() => this.#tick(), interval);
      this.#ticker.unref();
    }
  }

  /**
   * Opens this writer's chain (created on first use), takes its advisory lock and reads its tail.
   * Rejects with `audit_unavailable` when the database does not answer or another live process
   * holds the chain (`details.check: "lock"`).
   */
  static async open(
    config: pg.ClientConfig,
    schema: string,
    options: PostgresAuditLogOptions = {},
  ): Promise<PostgresAuditLog> {
    const writerId = options.writerId ?? defaultWriterId();
    if (!WRITER_ID.test(writerId)) {
      throw new AgentGateError(
        "invalid_configuration",
        `Writer id "${writerId.slice(0, 80)}" must be 1-64 letters, digits, ".", "_" or "-".`,
      );
    }
    const key = options.checkpointKey ?? CheckpointKey.load();
    const publicKey = key.publicKey.toString("base64url");
    const client = new pg.Client({ ...config, application_name: `agentgate-audit/${schema}` });
    client.on("error", () => undefined);
    try {
      await client.connect();
      const logId = `${writerId}.${randomHex(8)}`;
      await client.query(
        `insert into ${schema}.audit_chains (writer, log_id, public_key) values ($1, $2, $3) on conflict (writer) do nothing`,
        [writerId, logId, publicKey],
      );
      const chain = await client.query<{ log_id: string; public_key: string }>(
        `select log_id, public_key from ${schema}.audit_chains where writer = $1`,
        [writerId],
      );
      const row = chain.rows[0];
      if (row === undefined) throw new Error("the chain row vanished");
      if (row.public_key !== publicKey) {
        throw new AgentGateError(
          "audit_unavailable",
          `The audit chain "${writerId}" is signed by another checkpoint key: open it with that key, or write under another writer id.`,
          { details: { check: "checkpoint_key", writer: writerId } },
        );
      }
      const log = new PostgresAuditLog(
        config,
        schema,
        writerId,
        auditOrigin(row.log_id),
        key,
        options,
      );
      await log.#attach(client);
      return log;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw unavailable("audit_unavailable", "Opening the audit chain", error);
    }
  }

  /** The number of records in this chain. */
  get size(): number {
    return this.#seq;
  }

  /** Where the chain stands with its witness. */
  get anchor(): { readonly cosignedSize: number; readonly unanchored: number } {
    return { cosignedSize: this.#anchor.size, unanchored: this.#seq - this.#anchor.size };
  }

  write(event: AuditEvent): Promise<void> {
    if (this.#closed)
      return Promise.reject(new AgentGateError("audit_unavailable", "The audit log is closed."));
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      this.#flushing ??= this.#drain();
    });
  }

  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Flushes, writes a final checkpoint, waits (up to 5 s) for the witness, and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    try {
      await this.flush().catch(() => undefined);
      if (this.#failure === undefined && this.#checkpointed !== this.#seq) await this.#checkpoint();
      const deadline = Date.now() + 5_000;
      while (this.#witnessBusy !== undefined && Date.now() < deadline)
        await Promise.race([this.#witnessBusy, sleep(deadline - Date.now())]);
    } finally {
      this.#closed = true;
      if (this.#reconnecting !== undefined) clearTimeout(this.#reconnecting);
      const client = this.#client;
      this.#client = undefined;
      await client?.end().catch(() => undefined);
    }
  }

  /** Takes the chain's lock on `client` and reads the tail: the state every write continues. */
  async #attach(client: pg.Client): Promise<void> {
    const locked = await client.query<{ locked: boolean }>(
      "select pg_try_advisory_lock(hashtext($1)) as locked",
      [`agentgate-audit:${this.#schema}:${this.writerId}`],
    );
    if (locked.rows[0]?.locked !== true) {
      throw new AgentGateError(
        "audit_unavailable",
        `Another process writes the audit chain "${this.writerId}".`,
        { details: { check: "lock", writer: this.writerId } },
      );
    }
    const tree = new CompactRange();
    const leaves: Buffer[] = [];
    let prev = GENESIS_HASH;
    for (let from = 0; ; ) {
      const rows = await client.query<{ seq: string; hash: string }>(
        `select seq, hash from ${this.#schema}.audit_records where writer = $1 and seq >= $2 order by seq limit 50000`,
        [this.writerId, from],
      );
      for (const row of rows.rows) {
        if (Number(row.seq) !== tree.size) {
          throw new AgentGateError(
            "audit_unavailable",
            `The audit chain "${this.writerId}" has a gap at ${tree.size}: run verifyPostgresAudit.`,
            { details: { check: "record", seq: tree.size } },
          );
        }
        const leaf = Buffer.from(row.hash, "hex");
        tree.append(leaf);
        leaves.push(leaf);
        prev = row.hash;
      }
      if (rows.rows.length < 50000) break;
      from = tree.size;
    }
    const checkpoints = await client.query<{ size: string; cosigned: string | null }>(
      `select size, cosigned from ${this.#schema}.audit_checkpoints where writer = $1 order by size desc limit 1`,
      [this.writerId],
    );
    const last = checkpoints.rows[0];
    if (last !== undefined && Number(last.size) > tree.size) {
      throw new AgentGateError(
        "audit_unavailable",
        `The audit chain "${this.writerId}" holds ${tree.size} records but a checkpoint of ${last.size} was signed: records were cut.`,
        { details: { check: "cut", writer: this.writerId } },
      );
    }
    const cosigned = await client.query<{ size: string | null }>(
      `select max(size) as size from ${this.#schema}.audit_checkpoints where writer = $1 and cosigned is not null`,
      [this.writerId],
    );
    this.#seq = tree.size;
    this.#prev = prev;
    this.#tree = tree;
    this.#checkpointed = last === undefined ? 0 : Number(last.size);
    const cosignedSize = Math.min(Number(cosigned.rows[0]?.size ?? 0), tree.size);
    const base = new CompactRange();
    for (const leaf of leaves.slice(0, cosignedSize)) base.append(leaf);
    this.#anchor = new CosignedRange(base, leaves.slice(cosignedSize));
    this.#client = client;
    client.on("error", (error) => this.#lose(client, error));
    client.on("end", () => this.#lose(client, new Error("connection ended")));
    this.#failure = undefined;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#failure === undefined) {
        const batch = this.#queue.splice(0, this.#options.maxBatch ?? 2000);
        await this.#insert(batch);
      }
    } finally {
      this.#flushing = undefined;
      // Anything queued after a failure is refused too: never held for a later retry.
      if (this.#failure !== undefined) {
        for (const pending of this.#queue.splice(0)) pending.reject(this.#failure);
      }
    }
  }

  async #insert(batch: Pending[]): Promise<void> {
    const client = this.#client;
    const seqs: number[] = [];
    const hashes: string[] = [];
    const records: string[] = [];
    let seq = this.#seq;
    let prev = this.#prev;
    const accepted: Pending[] = [];
    for (const pending of batch) {
      let body: string;
      try {
        body = recordBody(seq, prev, pending.event);
      } catch (error) {
        pending.reject(unavailable("audit_unavailable", "Serialising an audit event", error));
        continue;
      }
      if (body.includes("\u0000")) {
        // JSON escapes NUL as \u0000, so a raw one here cannot happen; refuse rather than cut.
        pending.reject(new AgentGateError("audit_unavailable", "The event holds a NUL character."));
        continue;
      }
      const hash = digest("sha256", `\u0000${body}`, "hex");
      seqs.push(seq);
      hashes.push(hash);
      records.push(`${body.slice(0, -1)},"hash":"${hash}"}`);
      accepted.push(pending);
      seq++;
      prev = hash;
    }
    if (accepted.length === 0) return;
    try {
      if (client === undefined) throw this.#failure ?? new Error("not connected");
      // One statement: one transaction, committed (and flushed to the WAL) before it returns.
      await client.query(
        `insert into ${this.#schema}.audit_records (writer, seq, hash, record)
         select $1, s, h, r from unnest($2::bigint[], $3::text[], $4::text[]) as t(s, h, r)`,
        [this.writerId, seqs, hashes, records],
      );
    } catch (error) {
      const failure = this.#fail(error);
      for (const pending of accepted) pending.reject(failure);
      if (client !== undefined) this.#lose(client, error);
      return;
    }
    for (const hash of hashes) {
      const leaf = Buffer.from(hash, "hex");
      this.#tree.append(leaf);
      this.#anchor.append(leaf);
    }
    this.#seq = seq;
    this.#prev = prev;
    for (const pending of accepted) pending.resolve();
    const every = this.#options.checkpointEvery ?? 1000;
    if (every > 0 && this.#seq - this.#checkpointed >= every)
      await this.#checkpoint().catch(() => undefined);
  }

  #tick(): void {
    if (this.#closed || this.#failure !== undefined || this.#flushing !== undefined) return;
    if (this.#checkpointed !== this.#seq) void this.#checkpoint().catch(() => undefined);
  }

  /** Signs the tree head of every record so far, stores it, and sends it to the witness. */
  async #checkpoint(): Promise<void> {
    const client = this.#client;
    if (client === undefined) return;
    const size = this.#seq;
    const tree = this.#tree.clone();
    const note = this.#key.signCheckpoint({ origin: this.origin, size, root: tree.root() });
    await client.query(
      `insert into ${this.#schema}.audit_checkpoints (writer, size, note) values ($1, $2, $3) on conflict do nothing`,
      [this.writerId, size, note],
    );
    this.#checkpointed = size;
    this.#latest = { note, tree };
    this.#anchorNext();
  }

  /** One submission at a time; the newest checkpoint signed meanwhile goes after it. */
  #anchorNext(): void {
    const latest = this.#latest;
    if (this.#options.witness === undefined || this.#witnessBusy !== undefined) return;
    if (latest === undefined || latest.tree.size <= this.#anchor.size) return;
    this.#witnessBusy = this.#submit(latest.note, latest.tree).finally(() => {
      this.#witnessBusy = undefined;
      // Only after a success: a refusing or unreachable witness is asked again at the next checkpoint.
      if (this.#anchor.size === latest.tree.size) this.#anchorNext();
    });
  }

  async #submit(note: string, tree: CompactRange): Promise<void> {
    const witness = this.#options.witness;
    if (witness === undefined) return;
    const size = tree.size;
    const oldSize = this.#anchor.size;
    const proof = this.#anchor.proof(size);
    try {
      const response = await witness.addCheckpoint({ oldSize, proof, checkpoint: note });
      if (response.status !== "cosigned") return;
      const cosigned = `${note}${response.cosignature}`;
      const key = this.#options.witnessKey;
      if (key !== undefined && cosignedCheckpoint(cosigned, key) === undefined) return;
      await this.#client?.query(
        `update ${this.#schema}.audit_checkpoints set cosigned = $3 where writer = $1 and size = $2`,
        [this.writerId, size, cosigned],
      );
      this.#anchor.advance(tree);
    } catch {
      // Unreachable witness: the records stay unanchored until the next checkpoint.
    }
  }

  #fail(error: unknown): AgentGateError {
    this.#failure ??= unavailable("audit_unavailable", "Appending to the audit trail", error);
    return this.#failure;
  }

  /** The connection is gone: refuse writes, and reconnect in the background. */
  #lose(client: pg.Client, error: unknown): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#fail(error);
    client.end().catch(() => undefined);
    this.#reconnect(100);
  }

  #reconnect(delay: number): void {
    if (this.#closed || this.#reconnecting !== undefined) return;
    this.#reconnecting = setTimeout(async () => {
      this.#reconnecting = undefined;
      if (this.#closed) return;
      const client = new pg.Client({
        ...this.#config,
        application_name: `agentgate-audit/${this.#schema}`,
      });
      client.on("error", () => undefined);
      try {
        await client.connect();
        // The tail is read again: a batch whose commit was not acknowledged may be stored.
        await this.#attach(client);
      } catch {
        await client.end().catch(() => undefined);
        this.#reconnect(Math.min(delay * 2, 2000));
      }
    }, delay);
    this.#reconnecting.unref();
  }
}

/**
 * The hashed body of a record, exactly as the file log builds it: `seq` and `prev` first, then
 * the event; an event carrying `seq`, `prev` or `hash` itself can never shadow them.
 */
export function recordBody(seq: number, prev: string, event: AuditEvent): string {
  const head = `{"seq":${seq},"prev":"${prev}"`;
  if (!("seq" in event || "prev" in event || "hash" in event)) {
    const json = JSON.stringify(event);
    return json === "{}" ? `${head}}` : `${head},${json.slice(1)}`;
  }
  const {
    hash: _hash,
    seq: _seq,
    prev: _prev,
    ...fields
  } = event as AuditEvent & Record<string, unknown>;
  return JSON.stringify({ seq, prev, ...fields });
}

function defaultWriterId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .slice(0, 40) || "host";
  return `${host}-${process.pid}-${randomHex(4)}`;
}

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
