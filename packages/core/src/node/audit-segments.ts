import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";

/** The first record's `prev`. */
export const GENESIS_HASH = "0".repeat(64);

const SEGMENT = /^audit-(\d{6})\.jsonl$/;
const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;
/** `,"hash":"` + 64 hex digits + `"}`. */
const HASH_SUFFIX_LENGTH = 75;

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
  if (!HASH_SUFFIX.test(line.slice(-HASH_SUFFIX_LENGTH))) return undefined;
  return {
    body: `${line.slice(0, -HASH_SUFFIX_LENGTH)}}`,
    hash: line.slice(-66, -2),
  };
}

/**
 * Calls `onLine` with every line of every segment, oldest first, reading 1 MiB at a time: a
 * log of any size costs constant memory. A last line without its newline (a record torn by a
 * crash, or a tail cut mid-record) goes to `onTorn` with its segment and byte count instead.
 * `onLine` returning `false` stops the scan.
 */
export function scanSegments(
  directory: string,
  onLine: (line: string, segment: string) => boolean | undefined,
  onTorn: (segment: string, bytes: number, isLastSegment: boolean) => void = () => {},
): void {
  const segments = listSegments(directory);
  const chunk = Buffer.alloc(1024 * 1024);
  for (const [index, segment] of segments.entries()) {
    const fd = openSync(segment, "r");
    try {
      let carry: Buffer = Buffer.alloc(0);
      for (;;) {
        const read = readSync(fd, chunk, 0, chunk.length, null);
        if (read === 0) break;
        let data = chunk.subarray(0, read);
        if (carry.length > 0) data = Buffer.concat([carry, data]);
        let start = 0;
        for (let end = data.indexOf(10, start); end >= 0; end = data.indexOf(10, start)) {
          if (end > start && onLine(data.toString("utf8", start, end), segment) === false) return;
          start = end + 1;
        }
        carry = Buffer.from(data.subarray(start));
      }
      if (carry.length > 0) onTorn(segment, carry.length, index === segments.length - 1);
    } finally {
      closeSync(fd);
    }
  }
}
