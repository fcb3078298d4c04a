import { createHash } from "node:crypto";

/**
 * The SHA-256 (hex) of a policy set: every file name and text, in name order, and the schema.
 * Recorded with each load and reload (`policy_loaded`, SECURITY.md K83), so an auditor can
 * tell which exact set decided a call.
 */
export function policySetHash(source: {
  readonly policies: Readonly<Record<string, string>>;
  readonly schema?: string;
}): string {
  const hash = createHash("sha256");
  for (const name of Object.keys(source.policies).sort()) {
    hash.update(`${name.length}:${name}`);
    const text = source.policies[name] as string;
    hash.update(`${text.length}:${text}`);
  }
  hash.update(`schema:${source.schema ?? ""}`);
  return hash.digest("hex");
}
