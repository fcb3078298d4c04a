import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";

/**
 * Writes `data` to `path` so that readers see either the old or the new content, never a mix:
 * a temporary file in the same directory (created with `mode`), fsync (unless `sync` is false,
 * when process-crash safety is enough), then rename. The directory is created with mode 0700
 * when missing.
 */
export function writeFileAtomic(path: string, data: string, mode: number, sync = true): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temporary, "wx", mode);
  try {
    writeSync(fd, data);
    if (sync) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
}
