/**
 * Bad input on the command line or in a file the user named (exit code 2). Its message names the
 * flag or argument at fault and says what to change.
 */
export class CliUsageError extends Error {
  /** Stable code: `usage`. */
  readonly code = "usage";
  override readonly name = "CliUsageError";
}
