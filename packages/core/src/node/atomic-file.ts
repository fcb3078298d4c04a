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
import { mkdir, open, rename, unlink } from "node:fs/promises";
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

/**
 * {@link writeFileAtomic} off the event loop: the same temporary file, fsync (unless `sync` is
 * false) and rename, through the thread pool, so callers keep running while the disk syncs.
 */
export async function writeFileAtomicAsync(
  path: string,
  data: string,
  mode: number,
  sync = true,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temporary, "wx", mode);
  try {
    await handle.writeFile(data);
    if (sync) await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temporary);
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}
