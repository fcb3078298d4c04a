/** Where the CLI writes, so tests can capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly color: boolean;
}

/** The process's streams; colours only on a terminal. */
export const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  color: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
};

/** A plain-text table with aligned columns. */
export function table(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((row) => columns.map((column) => clean(row[column])));
  const widths = columns.map((column, index) =>
    Math.max(column.length, ...cells.map((cell) => cell[index]?.length ?? 0)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => value.padEnd(widths[index] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(columns), line(widths.map((width) => "-".repeat(width))), ...cells.map(line)].join(
    "\n",
  );
}

/** RFC 4180 CSV. */
export function csv(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
): string {
  const quote = (value: unknown) => {
    const text = clean(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [
    columns.join(","),
    ...rows.map((row) => columns.map((column) => quote(row[column])).join(",")),
  ].join("\n");
}

function clean(value: unknown): string {
  const text = Array.isArray(value)
    ? value.join(" ")
    : value === undefined || value === null
      ? ""
      : String(value);
  return text.replace(/[\p{Cc}\p{Cf}]/gu, "?");
}
