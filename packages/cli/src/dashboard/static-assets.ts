import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A built asset of the browser app, served by exact name only. */
export interface StaticAsset {
  readonly body: Buffer;
  readonly type: string;
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** The browser app's build (`vite build`), beside the compiled server or from the source tree. */
export function defaultAssetsDirectory(): string {
  const candidates = [
    new URL("../dashboard-web/", import.meta.url),
    new URL("../../dist/dashboard-web/", import.meta.url),
  ].map((url) => fileURLToPath(url));
  return (
    candidates.find((candidate) => existsSync(join(candidate, "index.html"))) ?? candidates[0] ?? ""
  );
}

/**
 * Reads every file of the built app once, keyed by its URL path (`/index.html`,
 * `/assets/app-1a2b.js`): a request names one of these or gets a 404, so no path from a request
 * ever reaches the file system.
 */
export function loadStaticAssets(directory: string): Map<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  const walk = (folder: string, prefix: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else {
        const type = TYPES[extname(name)];
        if (type !== undefined) assets.set(`${prefix}${name}`, { body: readFileSync(path), type });
      }
    }
  };
  if (existsSync(directory)) walk(directory, "/");
  return assets;
}
