import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The dashboard's browser app: Preact and uPlot bundled into dist/dashboard-web, served by
// `agentgate dashboard` (no CDN, works offline). No source maps: the tarball ships the source.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/dashboard-web", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
