import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAgentRecord } from "@agentgate/core";
import { createGate, JsonFileAgentRegistry } from "@agentgate/core/node";
import { afterEach, describe, expect, it } from "vitest";
import { cli, initialised, OPS, SUPPORT } from "../test/workspace.js";

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe("agentgate token verify answers as the gate does", () => {
  it("L90: suspended, revoked, expired and unregistered agents' tokens are reported unusable (exit 1), with the gate's own code", async () => {
    const dir = await initialised();
    folders.push(dirname(dir));
    const registry = new JsonFileAgentRegistry(join(dir, "agents.json"));
    const verify = async (token: string) => {
      const result = await cli(dir, "token", "verify", token, "--json");
      const shown = JSON.parse(result.out) as { valid: boolean; code?: string };
      return { exit: result.code, valid: shown.valid, code: shown.code };
    };
    // The gate of the same directory, asked about the same token at the same moment.
    const gateSays = async (token: string) => {
      const gate = await createGate({ directory: dir, watchPolicies: false });
      try {
        const check = await gate.check({ tool: { name: "crm_lookup" }, credential: token });
        return check.code;
      } finally {
        await gate.close();
      }
    };
    const issue = async (agent: string) => (await cli(dir, "token", "issue", agent)).out;

    const supportToken = await issue(SUPPORT);
    expect(await verify(supportToken)).toEqual({ exit: 0, valid: true, code: undefined });
    const scopesOf = async (token: string) =>
      (JSON.parse((await cli(dir, "token", "verify", token, "--json")).out) as { scopes: string[] })
        .scopes;
    expect(await scopesOf(supportToken)).toEqual(["crm:read"]);

    await cli(dir, "agent", "suspend", SUPPORT);
    expect(await verify(supportToken)).toEqual({
      exit: 1,
      valid: false,
      code: "agent_suspended",
    });
    expect(await gateSays(supportToken)).toBe("agent_suspended");
    await cli(dir, "agent", "resume", SUPPORT);
    expect((await verify(supportToken)).valid).toBe(true);

    // The registration has expired (the token itself still lives).
    const record = await registry.get(SUPPORT);
    if (record === undefined) throw new Error("support is registered");
    // A scope the registry no longer grants is not one the gate lets policy see.
    await registry.put(parseAgentRecord({ ...record, maxScopes: [] }));
    expect(await scopesOf(supportToken)).toEqual([]);
    await registry.put(parseAgentRecord({ ...record, expiresAt: "2026-01-01T00:00:00.000Z" }));
    expect(await verify(supportToken)).toEqual({ exit: 1, valid: false, code: "agent_expired" });
    expect(await gateSays(supportToken)).toBe("agent_expired");
    await registry.put(record);

    // Unregistered: the token is well signed, but no gate knows the agent.
    const opsToken = await issue(OPS);
    await registry.remove(OPS);
    expect(await verify(opsToken)).toEqual({ exit: 1, valid: false, code: "agent_unknown" });
    expect(await gateSays(opsToken)).toBe("agent_unknown");

    await cli(dir, "agent", "revoke", SUPPORT);
    expect(await verify(supportToken)).toEqual({ exit: 1, valid: false, code: "agent_revoked" });
    expect(await gateSays(supportToken)).toBe("agent_revoked");
  });
});
