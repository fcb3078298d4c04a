import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/fixtures/temp-dir.js";
import {
  GENESIS_HASH,
  listSegments,
  scanSegments,
  segmentIndex,
  segmentPath,
  splitRecordLine,
} from "./audit-segments.js";

// The segment scan both the writer and the verifier rely on (SECURITY.md E41, J74): which files
// are segments and in what order, lines split across the 1 MiB read chunks, blank lines, a torn
// last line and where it is, stopping early, no file descriptor left open (MUTATION.md, group
// `audit-store`). Real files in a temporary directory.

const openFds = () => readdirSync("/proc/self/fd").length;

function scan(directory: string, stopAt?: string) {
  const lines: [string, string][] = [];
  const torn: [string, number, boolean][] = [];
  scanSegments(
    directory,
    (line, segment) => {
      lines.push([line, segment]);
      return line === stopAt ? false : undefined;
    },
    (segment, bytes, last) => torn.push([segment, bytes, last]),
  );
  return { lines, torn };
}

describe("audit segments", () => {
  it("lists only audit-NNNNNN.jsonl files, oldest first", () => {
    const dir = tempDir("agentgate-segments-");
    for (const name of [
      "audit-000002.jsonl",
      "audit-000001.jsonl",
      "log.json",
      "xaudit-000003.jsonl",
      "audit-000004.jsonl.tmp",
      "audit-5.jsonl",
      "audit-000006.json",
    ])
      writeFileSync(join(dir, name), "");
    expect(listSegments(dir)).toEqual([
      join(dir, "audit-000001.jsonl"),
      join(dir, "audit-000002.jsonl"),
    ]);
    expect(listSegments(join(dir, "missing"))).toEqual([]);
  });

  it("a log path that is no directory is that error, not an empty log", () => {
    const dir = tempDir("agentgate-segments-");
    writeFileSync(join(dir, "file"), "");
    expect(() => listSegments(join(dir, "file"))).toThrow(
      expect.objectContaining({ code: "ENOTDIR" }),
    );
  });

  it("segment paths and numbers", () => {
    expect(segmentPath("/logs", 7)).toBe("/logs/audit-000007.jsonl");
    expect(segmentIndex("/logs/audit-000007.jsonl")).toBe(7);
    expect(segmentIndex("audit-000123.jsonl")).toBe(123);
    expect(segmentIndex("/logs/log.json")).toBe(0);
    expect(segmentIndex("/logs/x-audit-000007.jsonl")).toBe(0);
    expect(GENESIS_HASH).toBe("0".repeat(64));
  });

  it("splits a record line into the hashed body and its hash, short lines included", () => {
    const hash = "ab".repeat(32);
    expect(splitRecordLine(`{"a":1,"hash":"${hash}"}`)).toEqual({ body: '{"a":1}', hash });
    expect(splitRecordLine(`{"hash":"${hash}"}`)).toBeUndefined();
    expect(splitRecordLine(`{"a":1,"hash":"${"AB".repeat(32)}"}`)).toBeUndefined();
    expect(splitRecordLine(`{"a":1,"hash":"${hash}"} `)).toBeUndefined();
    const long = `{"a":"${"x".repeat(200)}","hash":"${hash}"}`;
    expect(splitRecordLine(long)).toEqual({ body: `{"a":"${"x".repeat(200)}"}`, hash });
  });

  it("E41: a line across the 1 MiB read chunks arrives whole", () => {
    const dir = tempDir("agentgate-segments-");
    const first = "a".repeat(1024 * 1024 - 10);
    const second = "b".repeat(100);
    const third = "c".repeat(1024 * 1024 + 5); // longer than a chunk
    writeFileSync(segmentPath(dir, 1), `${first}\n${second}\n${third}\nlast\n`);
    const { lines, torn } = scan(dir);
    expect(lines.map(([line]) => line)).toEqual([first, second, third, "last"]);
    expect(torn).toEqual([]);
  });

  it("blank lines are skipped, a segment that starts with one included", () => {
    const dir = tempDir("agentgate-segments-");
    writeFileSync(segmentPath(dir, 1), "\n\nrecord 1\n\nrecord 2\n");
    const { lines, torn } = scan(dir);
    expect(lines).toEqual([
      ["record 1", segmentPath(dir, 1)],
      ["record 2", segmentPath(dir, 1)],
    ]);
    expect(torn).toEqual([]);
  });

  it("J74: a torn last line is reported with its segment, bytes and whether it is the last segment", () => {
    const dir = tempDir("agentgate-segments-");
    writeFileSync(segmentPath(dir, 1), "one\ntorn in 1");
    writeFileSync(segmentPath(dir, 2), "two\ntörn");
    const { lines, torn } = scan(dir);
    expect(lines.map(([line]) => line)).toEqual(["one", "two"]);
    expect(torn).toEqual([
      [segmentPath(dir, 1), 9, false],
      [segmentPath(dir, 2), 5, true],
    ]);
    // The default onTorn ignores it.
    const seen: string[] = [];
    scanSegments(dir, (line) => {
      seen.push(line);
      return true;
    });
    expect(seen).toEqual(["one", "two"]);
  });

  it("onLine returning false stops the scan; no file is left open either way", () => {
    const dir = tempDir("agentgate-segments-");
    mkdirSync(join(dir, "sub"));
    writeFileSync(segmentPath(dir, 1), "one\ntwo\n");
    writeFileSync(segmentPath(dir, 2), "three\nfour");
    const fds = openFds();
    expect(scan(dir, "two")).toEqual({
      lines: [
        ["one", segmentPath(dir, 1)],
        ["two", segmentPath(dir, 1)],
      ],
      torn: [],
    });
    expect(openFds()).toBe(fds);
    expect(scan(dir).torn).toEqual([[segmentPath(dir, 2), 4, true]]);
    expect(openFds()).toBe(fds);
  });
});
