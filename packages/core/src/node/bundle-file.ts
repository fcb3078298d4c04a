import { type Stats, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import type { JSONWebKeySet } from "jose";
import type { JwtSvidBundleSource } from "../identity/jwt-svid.js";

/** A file's identity and version as `stat` tells them: a rename, a rewrite or a resize shows. */
function signature(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/**
 * A {@link JwtSvidBundleSource} on a JWKS file (`spire-server bundle show -format spiffe`'s
 * output, refreshed by a cron job, a SPIRE agent's bundle file, a mounted ConfigMap): the file is
 * looked at (`stat`, following symlinks) at most every `checkEveryMs`, and read again only when
 * it changed. A file that cannot be read or parsed is reported and tried again at the next look;
 * the keys in force stay meanwhile.
 */
export function bundleFileSource(
  path: string,
  options: {
    readonly checkEveryMs: number;
    readonly onError: (error: unknown) => void;
    readonly onChange?: (keyIds: readonly string[]) => void;
  },
): JwtSvidBundleSource {
  // The version the caller read at start-up (it reads right after this), so that only a later
  // change is read again.
  let seen = versionOf(path);
  let lookedAt = performance.now();
  return {
    changed: async () => {
      const now = performance.now();
      if (now - lookedAt < options.checkEveryMs) return undefined;
      lookedAt = now;
      let version: string;
      try {
        version = signature(await stat(path));
      } catch (error) {
        throw new Error(`${path} cannot be read: ${describe(error)}`, { cause: error });
      }
      if (version === seen) return undefined;
      let set: unknown;
      try {
        set = JSON.parse(await readFile(path, "utf8"));
      } catch (error) {
        // Half written, perhaps: looked at again next time (`seen` is left as it was).
        throw new Error(`${path} is not a readable JSON file: ${describe(error)}`, {
          cause: error,
        });
      }
      seen = version;
      return set as JSONWebKeySet;
    },
    onError: options.onError,
    ...(options.onChange === undefined ? {} : { onChange: options.onChange }),
  };
}

function versionOf(path: string): string | undefined {
  try {
    return signature(statSync(path));
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
