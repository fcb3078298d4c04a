import { migrate, SCHEMA_VERSION } from "@agentgate/postgres";
import type { Command } from "commander";
import type { Output } from "./output.js";
import { CliUsageError } from "./usage-error.js";

/** `agentgate db migrate --database postgres://…`: creates or upgrades AgentGate's tables. */
export function registerDbCommands(program: Command, output: Output): void {
  const db = program.command("db").description("AgentGate's tables in PostgreSQL");
  db.command("migrate")
    .description(`create or upgrade AgentGate's tables (schema version ${SCHEMA_VERSION})`)
    .option("--database <url>", "PostgreSQL connection string (default: DATABASE_URL)")
    .option("--schema <name>", "the PostgreSQL schema of the tables", "agentgate")
    .action(async (options: { database?: string; schema: string }) => {
      const url = options.database ?? process.env.DATABASE_URL;
      if (url === undefined || url === "")
        throw new CliUsageError("db migrate needs --database postgres://… (or DATABASE_URL).");
      const report = await migrate(url, { schema: options.schema });
      output.out(
        report.applied.length === 0
          ? `Schema "${report.schema}" is at version ${report.to}: nothing to do.`
          : `Schema "${report.schema}" migrated from version ${report.from} to ${report.to} (applied ${report.applied.join(", ")}).`,
      );
    });
}
