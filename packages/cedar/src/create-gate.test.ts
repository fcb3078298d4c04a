import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CredentialProvider, defineAgent, isAgentGateError } from "@agentgate/core";
import {
  createGate,
  JsonFileAgentRegistry,
  readAuditLog,
  verifyAuditLog,
} from "@agentgate/core/node";
import { describe, expect, it } from "vitest";
import { pollUntil } from "../test/poll.js";
import { tempDir } from "../test/temp-dir.js";
import { DEFAULT_SCHEMA_PATH } from "./cedar-policy-client.js";

const SUPPORT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://tools.acme.example";

describe("createGate on a directory: the whole path with real parts", () => {
  it("keys, registry, Cedar policies and the file audit log from one directory", async () => {
    const directory = tempDir("agentgate-dir-");
    writeFileSync(
      join(directory, "config.json"),
      JSON.stringify({ trustDomain: "acme.example", audience: AUDIENCE, timeZone: "UTC" }),
    );
    mkdirSync(join(directory, "policies"));
    copyFileSync(DEFAULT_SCHEMA_PATH, join(directory, "policies", "schema.cedarschema"));
    writeFileSync(
      join(directory, "policies", "support.cedar"),
      `@id("support-reads-acme") permit (principal == Agent::"${SUPPORT}", action == Action::"read", resource == Tool::"crm_lookup") when { context.resources has customer && context.resources.customer == "acme" };`,
    );
    await new JsonFileAgentRegistry(join(directory, "agents.json")).put(
      defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
    );

    const gate = await createGate({ directory, watchPolicies: false });
    const authority = gate.authority;
    if (authority === undefined) throw new Error("no authority");
    const credential = CredentialProvider.forAgent(authority, SUPPORT, { audience: AUDIENCE });
    const tool = {
      name: "crm_lookup",
      action: "read",
      resources: { customer: "customerId" },
    } as const;
    await expect(
      gate.invoke({ tool, arguments: { customerId: "acme" }, credential }, async () => "ran"),
    ).resolves.toBe("ran");
    const denied = await gate
      .invoke({ tool, arguments: { customerId: "globex" }, credential }, async () => "ran")
      .catch((error: unknown) => error);
    expect(isAgentGateError(denied) && denied.code).toBe("access_denied");
    // Identity life-cycle changes through the gate's authority land in the same log.
    await authority.rotateKey();
    await authority.revoke("agent", SUPPORT, "offboarded");
    await gate.close();
    expect(await verifyAuditLog(join(directory, "audit"))).toMatchObject({ ok: true });
    const types: string[] = [];
    for await (const event of readAuditLog(join(directory, "audit"))) types.push(event.type);
    expect(types.filter((type) => type !== "log_recovered")).toEqual([
      "key_rotation", // the first signing key, made when the directory had none
      "policy_loaded", // K83: the policy set in force, with its hash
      "decision",
      "outcome",
      "decision",
      "key_rotation",
      "revocation",
    ]);

    // A directory whose policies do not load: the gate does not start and leaves the log unlocked.
    writeFileSync(
      join(directory, "policies", "broken.cedar"),
      "permit (principal, action, resource) when { context.nope };",
    );
    const broken = await createGate({ directory, watchPolicies: false }).catch(
      (caught: unknown) => caught,
    );
    expect(isAgentGateError(broken) && broken.code).toBe("policy_invalid");
    expect(existsSync(join(directory, "audit", "audit.lock"))).toBe(false);
    rmSync(join(directory, "policies", "broken.cedar"));
    await (await createGate({ directory, watchPolicies: false })).close();
  });

  it("the whole path: a revocation written by a second process through the shared file denies the next call", async () => {
    const directory = tempDir("agentgate-dir-");
    writeFileSync(
      join(directory, "config.json"),
      JSON.stringify({ trustDomain: "acme.example", audience: AUDIENCE }),
    );
    mkdirSync(join(directory, "policies"));
    writeFileSync(
      join(directory, "policies", "all.cedar"),
      `permit (principal == Agent::"${SUPPORT}", action, resource);`,
    );
    await new JsonFileAgentRegistry(join(directory, "agents.json")).put(
      defineAgent({ id: SUPPORT, owner: "alice@acme.example" }),
    );
    const gate = await createGate({ directory, watchPolicies: false });
    const authority = gate.authority;
    if (authority === undefined) throw new Error("no authority");
    const credential = CredentialProvider.forAgent(authority, SUPPORT, { audience: AUDIENCE });
    const call = () =>
      gate
        .invoke({ tool: { name: "ping" }, arguments: {}, credential }, async () => "pong")
        .catch((error: unknown) => (isAgentGateError(error) ? error.code : error));
    expect(await call()).toBe("pong");
    // Resolved from this package as any user's code would (also from a copy of the package, as
    // mutation testing makes): the built @agentgate/core/node.
    const core = "@agentgate/core/node";
    const child = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { FileRevocationList } = await import(${JSON.stringify(core)}); await new FileRevocationList(${JSON.stringify(join(directory, "revocations.jsonl"))}).revoke("agent", ${JSON.stringify(SUPPORT)}, "from another process");`,
      ],
      { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)) },
    );
    expect(child.status, child.stderr).toBe(0);
    expect(await pollUntil(call, (outcome) => outcome !== "pong", { what: "the revocation" })).toBe(
      "agent_revoked",
    );
    await gate.close();
  });

  it("refuses to start without a trust domain, with a message that says what to do", async () => {
    const error = await createGate({
      directory: tempDir("agentgate-empty-"),
    }).catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("invalid_configuration");
    expect((error as Error).message).toMatch(/agentgate init/);
  });
});
