import { closeSync, lstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";

/**
 * What the suite-wide scan looks for (SECURITY.md I69): a raw JWT, a PEM private key, or a
 * private JWK member. Only the kind and the file are ever reported, never the material.
 */
const PATTERNS: ReadonlyArray<readonly [string, RegExp]> = [
  ["jwt", /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/],
  ["pem private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ["private jwk", /"d"\s*:\s*"[A-Za-z0-9_-]{32,}"/],
];

/** Where key material is meant to be at rest: key stores (`keys/`) and key files (`*key*`). */
const KEY_AT_REST = /(^|[\\/])[^\\/]*key[^\\/]*([\\/]|$)/i;

/** The scan's own test plants material on purpose, in a directory so named; nothing else is skipped. */
export const PLANTED_PREFIX = "agentgate-i69-planted-";

/** The most bytes read from one file; audit logs and captures of a test run stay far below. */
const MAX_BYTES = 32 * 1024 * 1024;

/** One finding: the file and the kind of material in it, never the material itself. */
export interface Finding {
  readonly path: string;
  readonly kind: string;
}

/** A key store's record (`SigningKey`'s stored form): the one place a private key belongs. */
function isStoredKey(text: string): boolean {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    return typeof value.kid === "string" && typeof value.privateJwk === "object";
  } catch {
    return false;
  }
}

/** Scans the text of one file or capture. Key material is allowed in key stores, tokens nowhere. */
export function scanText(path: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const atRest = KEY_AT_REST.test(path) || isStoredKey(text);
  for (const [kind, pattern] of PATTERNS) {
    if (kind !== "jwt" && atRest) continue;
    if (pattern.test(text)) findings.push({ path, kind });
  }
  return findings;
}

/** Scans every regular file under `root` (a file or a directory), without following links. */
export function scanPath(root: string): Finding[] {
  const findings: Finding[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const path = pending.pop() as string;
    if (path.includes(PLANTED_PREFIX) && !root.includes(PLANTED_PREFIX)) continue;
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      continue; // removed meanwhile
    }
    if (stat.isDirectory()) {
      for (const entry of safeList(path)) pending.push(join(path, entry));
    } else if (stat.isFile()) {
      findings.push(...scanText(path, readHead(path, Math.min(stat.size, MAX_BYTES))));
    }
  }
  return findings;
}

function safeList(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readHead(path: string, size: number): string {
  try {
    const fd = openSync(path, "r");
    try {
      const buffer = Buffer.alloc(size);
      const read = readSync(fd, buffer, 0, size, 0);
      return buffer.subarray(0, read).toString("latin1");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}
