import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { migrate } from "../src/index.js";

/** A fresh schema with a random name, migrated; `drop` removes it and everything in it. */
export async function freshSchema(): Promise<{
  url: string;
  schema: string;
  admin: pg.Pool;
  drop: () => Promise<void>;
}> {
  const url = inject("databaseUrl");
  const schema = `agtest_${randomBytes(6).toString("hex")}`;
  await migrate(url, { schema });
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  admin.on("error", () => undefined);
  return {
    url,
    schema,
    admin,
    drop: async () => {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

/** Ends every backend of this schema's test connections except the admin's (a database outage). */
export async function terminateBackends(admin: pg.Pool, schema: string): Promise<number> {
  const result = await admin.query(
    `select pg_terminate_backend(pid) from pg_stat_activity
     where application_name like 'agentgate%/' || $1 and pid <> pg_backend_pid()`,
    [schema],
  );
  return result.rowCount ?? 0;
}
