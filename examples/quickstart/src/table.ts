import { isAgentGateError } from "@agentgate/core";

/** One line of the demo's table: what happened, and whether that is what should happen. */
export interface Row {
  readonly step: string;
  readonly outcome: string;
  readonly detail: string;
  readonly ok: boolean;
}

/**
 * Runs one step and records it. `expected` is `ok` or the error code the step must fail with;
 * the demo exits non-zero when any step differs.
 */
export async function step(
  rows: Row[],
  name: string,
  expected: string,
  action: () => Promise<string>,
): Promise<void> {
  let outcome: string;
  let detail: string;
  try {
    detail = await action();
    outcome = "ok";
  } catch (error) {
    if (!isAgentGateError(error)) throw error;
    outcome = error.code;
    detail = error.message;
  }
  rows.push({ step: name, outcome, detail, ok: outcome === expected });
}

/** Prints rows as a readable table. */
export function printTable(title: string, rows: readonly Row[]): void {
  const width = Math.max(...rows.map((row) => row.step.length));
  const outcomeWidth = Math.max(8, ...rows.map((row) => row.outcome.length));
  console.log(`\n${title}\n`);
  console.log(`  ${"step".padEnd(width)}  ${"outcome".padEnd(outcomeWidth)}  detail`);
  console.log(`  ${"-".repeat(width)}  ${"-".repeat(outcomeWidth)}  ${"-".repeat(40)}`);
  for (const row of rows) {
    const mark = row.ok ? " " : "!";
    console.log(
      `${mark} ${row.step.padEnd(width)}  ${row.outcome.padEnd(outcomeWidth)}  ${row.detail}`,
    );
  }
}
