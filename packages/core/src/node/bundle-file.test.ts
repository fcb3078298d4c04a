import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bundleFileSource } from "./bundle-file.js";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function bundleFile(): { path: string; publish: (keys: unknown[]) => void } {
  const root = mkdtempSync(join(tmpdir(), "agentgate-bundle-file-"));
  roots.push(root);
  const path = join(root, "spire-bundle.json");
  const publish = (keys: unknown[]) => {
    writeFileSync(`${path}.new`, JSON.stringify({ keys }));
    renameSync(`${path}.new`, path);
  };
  return { path, publish };
}

describe("bundleFileSource", () => {
  it("gives the file's JWKS once each time it changes, and nothing while it stays as read", async () => {
    const { path, publish } = bundleFile();
    publish([{ kid: "a" }]);
    const source = bundleFileSource(path, { checkEveryMs: 0, onError: () => undefined });
    expect(await source.changed()).toBeUndefined();
    publish([{ kid: "b" }]);
    expect(await source.changed()).toEqual({ keys: [{ kid: "b" }] });
    expect(await source.changed()).toBeUndefined();
  });

  it("looks at the file no more often than checkEveryMs", async () => {
    const { path, publish } = bundleFile();
    publish([{ kid: "a" }]);
    const source = bundleFileSource(path, { checkEveryMs: 3_600_000, onError: () => undefined });
    publish([{ kid: "b" }]);
    expect(await source.changed()).toBeUndefined();
  });

  it("a file half written or gone is an error, and read again at the next look", async () => {
    const { path, publish } = bundleFile();
    publish([{ kid: "a" }]);
    const source = bundleFileSource(path, { checkEveryMs: 0, onError: () => undefined });
    writeFileSync(path, '{"keys": [');
    await expect(source.changed()).rejects.toThrow(/not a readable JSON file/);
    rmSync(path);
    await expect(source.changed()).rejects.toThrow(/cannot be read/);
    publish([{ kid: "c" }]);
    expect(await source.changed()).toEqual({ keys: [{ kid: "c" }] });
  });
});
