import { statSync } from "node:fs";
import type { Clock } from "../clock.js";

/**
 * Tells, cheaply and at most once per `intervalMs`, whether a file changed since the last look
 * (inode, size or modification time). Lets a process pick up another process's writes within a
 * bounded delay without a watcher per file.
 */
export class FileProbe {
  #lastLook = Number.NEGATIVE_INFINITY;
  #signature = "";

  constructor(
    private readonly path: string,
    private readonly intervalMs: number,
    private readonly clock: Clock,
  ) {}

  /** True when the file looks different than at the previous call that returned true. */
  changed(): boolean {
    const now = this.clock.now();
    if (now - this.#lastLook < this.intervalMs) return false;
    this.#lastLook = now;
    let signature = "missing";
    try {
      const stat = statSync(this.path, { bigint: true });
      signature = `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") signature = "unreadable";
    }
    if (signature === this.#signature) return false;
    this.#signature = signature;
    return true;
  }

  /** Forces the next {@link FileProbe.changed} to look at the file. */
  reset(): void {
    this.#lastLook = Number.NEGATIVE_INFINITY;
    this.#signature = "";
  }
}
