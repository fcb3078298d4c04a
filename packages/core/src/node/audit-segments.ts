import { readdirSync } from "node:fs";
import { join } from "node:path";

/** The first record's `prev`. */
export const GENESIS_HASH = "0".repeat(64);

const SEGMENT = /^audit-(\d{6})\.jsonl$/;
const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

/** The segment files of a log directory, oldest first. */
export function listSegments(directory: string): string[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return names
    .filter((name) => SEGMENT.test(name))
    .sort()
    .map((name) => join(directory, name));
}

/** The path of segment number `index` (1-based). */
export function segmentPath(directory: string, index: number): string {
  return join(directory, `audit-${String(index).padStart(6, "0")}.jsonl`);
}

/** The number of a segment path. */
export function segmentIndex(path: string): number {
  return Number(SEGMENT.exec(path.split("/").at(-1) ?? "")?.[1] ?? 0);
}

/**
 * Splits a stored line into the hashed body and the hash it claims. A record line is the JSON of
 * the record without `hash`, with `,"hash":"<hex>"` inserted before its closing brace: the hash
 * covers exactly the bytes before it, so no canonical re-serialisation is ever needed.
 */
export function splitRecordLine(line: string): { body: string; hash: string } | undefined {
  const match = HASH_SUFFIX.exec(line);
  if (match === null) return undefined;
  return { body: `${line.slice(0, match.index)}}`, hash: match[1] as string };
}
