import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOOK = join(PACKAGE, "test", "fixtures", "hide-optional-peers.mjs");

/** Imports `specifier` (by package name, from the built dist/) in a Node that cannot see the optional peers. */
function importWithoutOptionalPeers(specifier: string): string {
  const script = `import(${JSON.stringify(specifier)}).then(
    (m) => console.log("ok " + Object.keys(m).sort().join(",")),
    (e) => console.log("failed " + e.code + " " + e.message))`;
  return execFileSync(process.execPath, ["--import", HOOK, "--input-type=module", "-e", script], {
    cwd: PACKAGE,
    encoding: "utf8",
    timeout: 60_000,
  }).trim();
}

describe("optional peers (langchain, @langchain/langgraph) are really optional", () => {
  it("the root entry loads with only @langchain/core: protectTool, protectTools, the callback handler", {
    timeout: 90_000,
  }, () => {
    const result = importWithoutOptionalPeers("@agentgate/langchain");
    expect(result).toMatch(/^ok /);
    for (const name of ["protectTool", "protectTools", "AgentGateCallbackHandler"]) {
      expect(result).toContain(name);
    }
    expect(result).not.toContain("agentGateMiddleware");
  });

  it("the subpaths that need them fail to load without them (the hook really hides them)", {
    timeout: 90_000,
  }, () => {
    expect(importWithoutOptionalPeers("@agentgate/langchain/middleware")).toMatch(
      /^failed ERR_MODULE_NOT_FOUND .*'langchain'/,
    );
    expect(importWithoutOptionalPeers("@agentgate/langchain/interrupts")).toMatch(
      /^failed ERR_MODULE_NOT_FOUND .*'@langchain\/langgraph'/,
    );
  });

  it("with them installed, the subpaths export the middleware and interrupt approvals", {
    timeout: 90_000,
  }, async () => {
    const { agentGateMiddleware } = await import("@agentgate/langchain/middleware");
    const { interruptApprovals } = await import("@agentgate/langchain/interrupts");
    expect(typeof agentGateMiddleware).toBe("function");
    expect(typeof interruptApprovals).toBe("function");
  });
});
