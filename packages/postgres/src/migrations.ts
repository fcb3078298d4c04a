import { AgentGateError } from "@agentgate/core";
import type pg from "pg";
import { channelOf, checkSchema, type DatabaseSource, poolFor, redactUrl } from "./database.js";

/** One versioned step of the schema. */
interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: (schema: string, channel: string) => string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "registry, revocations, audit chains, replay cache, approvals",
    sql: (s, channel) => `
create table ${s}.agents (
  id text primary key,
  record jsonb not null,
  position bigserial not null
);
create table ${s}.revocations (
  seq bigserial primary key,
  kind text not null check (kind in ('agent', 'token', 'key')),
  id text not null,
  revoked_at text not null,
  reason text,
  unique (kind, id)
);
create table ${s}.audit_chains (
  writer text primary key,
  log_id text not null unique,
  public_key text not null,
  created_at timestamptz not null default now()
);
-- No foreign key to audit_chains: its per-row check would cost more than the insert; a chain's
-- writer row is written before its first record, and verify walks audit_chains.
create table ${s}.audit_records (
  writer text not null,
  seq bigint not null check (seq >= 0),
  hash text not null,
  record text not null,
  primary key (writer, seq)
);
create table ${s}.audit_checkpoints (
  writer text not null references ${s}.audit_chains (writer),
  size bigint not null,
  note text not null,
  cosigned text,
  created_at timestamptz not null default now(),
  primary key (writer, size)
);
create table ${s}.replay (
  id text primary key,
  expires_at double precision not null
);
create index replay_expires on ${s}.replay (expires_at);
create table ${s}.approvals (
  id text primary key,
  request jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'approved', 'denied')),
  answer jsonb,
  created_at timestamptz not null default now(),
  answered_at timestamptz
);
create function ${s}.notify_change() returns trigger language plpgsql as $$
begin
  -- A short payload (NOTIFY holds at most 8,000 bytes): the revocation's seq, the approval's id.
  perform pg_notify('${channel}', tg_table_name || ':' || case tg_table_name
    when 'revocations' then to_jsonb(new) ->> 'seq'
    when 'approvals' then to_jsonb(new) ->> 'id'
    else '' end);
  return null;
end $$;
create trigger revocations_notify after insert on ${s}.revocations
  for each row execute function ${s}.notify_change();
create trigger agents_notify after insert or update or delete on ${s}.agents
  for each row execute function ${s}.notify_change();
create trigger approvals_notify after insert or update on ${s}.approvals
  for each row execute function ${s}.notify_change();
-- The audit trail is append-only for every role, its owner's included: a record is never edited
-- or deleted through SQL without first dropping this trigger (which only the owner can do).
create function ${s}.audit_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'the AgentGate audit trail is append-only' using errcode = '42501';
end $$;
create trigger audit_records_append_only before update or delete or truncate on ${s}.audit_records
  for each statement execute function ${s}.audit_append_only();
create trigger audit_checkpoints_append_only before delete or truncate on ${s}.audit_checkpoints
  for each statement execute function ${s}.audit_append_only();
`,
  },
];

/** The newest schema version this release knows. */
export const SCHEMA_VERSION: number = MIGRATIONS.at(-1)?.version ?? 0;

/** Options of {@link migrate} and {@link checkSchemaVersion}. */
export interface MigrateOptions {
  /** The PostgreSQL schema that holds AgentGate's tables. Default `agentgate`. */
  readonly schema?: string;
}

/** What {@link migrate} did. */
export interface MigrationReport {
  readonly schema: string;
  /** The version before. */
  readonly from: number;
  /** The version now ({@link SCHEMA_VERSION}). */
  readonly to: number;
  /** The versions applied, in order. */
  readonly applied: readonly number[];
}

/**
 * Creates or upgrades AgentGate's tables in `schema` (`agentgate db migrate`): every migration
 * newer than the recorded version, each in its own transaction, under an advisory lock so two
 * hosts migrating at once apply each step once. Refuses a schema newer than this release
 * (`invalid_configuration`, `details.check: "schema_version"`).
 *
 * @example
 * ```ts
 * await migrate("postgres://agentgate_admin@db.internal/agentgate");
 * ```
 */
export async function migrate(
  source: DatabaseSource,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  const schema = checkSchema(options.schema ?? "agentgate");
  const { pool, owned } = poolFor(source, 1);
  try {
    const client = await connectOrFail(pool, source);
    try {
      await client.query("select pg_advisory_lock(hashtext($1))", [`agentgate-migrate:${schema}`]);
      await client.query(`create schema if not exists ${schema}`);
      await client.query(
        `create table if not exists ${schema}.schema_version (version integer primary key, name text not null, applied_at timestamptz not null default now())`,
      );
      const from = await currentVersion(client, schema);
      refuseNewer(from, schema);
      const applied: number[] = [];
      for (const migration of MIGRATIONS) {
        if (migration.version <= from) continue;
        await client.query("begin");
        try {
          await client.query(migration.sql(schema, channelOf(schema)));
          await client.query(
            `insert into ${schema}.schema_version (version, name) values ($1, $2)`,
            [migration.version, migration.name],
          );
          await client.query("commit");
        } catch (error) {
          await client.query("rollback");
          throw error;
        }
        applied.push(migration.version);
      }
      return { schema, from, to: SCHEMA_VERSION, applied };
    } finally {
      await client
        .query("select pg_advisory_unlock(hashtext($1))", [`agentgate-migrate:${schema}`])
        .catch(() => undefined);
      client.release();
    }
  } catch (error) {
    if (error instanceof AgentGateError) throw error;
    throw new AgentGateError(
      "invalid_configuration",
      `Migrating ${redactUrl(source)} failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    if (owned) await pool.end();
  }
}

/**
 * Checks at start-up that `schema` holds exactly the version this release knows. Rejects with
 * `invalid_configuration` (`details.check: "schema_version"`) when it is missing, older (run
 * `agentgate db migrate`) or newer (a newer AgentGate migrated it: upgrade this one).
 */
export async function checkSchemaVersion(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    const exists = await client.query("select to_regclass($1) as table", [
      `${schema}.schema_version`,
    ]);
    const version = exists.rows[0]?.table === null ? 0 : await currentVersion(client, schema);
    refuseNewer(version, schema);
    if (version < SCHEMA_VERSION) {
      throw new AgentGateError(
        "invalid_configuration",
        `The database schema "${schema}" is at version ${version}, this AgentGate needs ${SCHEMA_VERSION}: run \`agentgate db migrate --database <url>\`.`,
        { details: { check: "schema_version", found: version, expected: SCHEMA_VERSION } },
      );
    }
  } finally {
    client.release();
  }
}

async function currentVersion(client: pg.PoolClient, schema: string): Promise<number> {
  const result = await client.query<{ version: number | null }>(
    `select max(version) as version from ${schema}.schema_version`,
  );
  return result.rows[0]?.version ?? 0;
}

function refuseNewer(version: number, schema: string): void {
  if (version > SCHEMA_VERSION) {
    throw new AgentGateError(
      "invalid_configuration",
      `The database schema "${schema}" is at version ${version}, newer than this AgentGate knows (${SCHEMA_VERSION}): upgrade AgentGate; it does not run on a schema it does not know.`,
      { details: { check: "schema_version", found: version, expected: SCHEMA_VERSION } },
    );
  }
}

/** A client, or a clear error naming the database (without its password). */
export async function connectOrFail(pool: pg.Pool, source: DatabaseSource): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw new AgentGateError(
      "invalid_configuration",
      `AgentGate cannot reach the database ${redactUrl(source)}: ${(error as Error).message || (error as { code?: string }).code}.`,
      { cause: error, details: { check: "connect" } },
    );
  }
}
