import type { TestProject } from "vitest/node";
import { provisionDatabase } from "./provision.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** One server for every test file: the machine's, or one provisioned from npm. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const database = await provisionDatabase();
  console.log(`@agentgate/postgres tests: ${database.description}`);
  project.provide("databaseUrl", database.url);
  return database.stop;
}
