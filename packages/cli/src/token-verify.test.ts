import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isAgentGateError, parseAgentRecord } from "@agentgate/core";
import { createGate, JsonFileAgentRegistry } from "@agentgate/core/node";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, cli, initialised, OPS, SUPPORT } from "../test/workspace.js";

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

  it("P132: a SPIRE JWT-SVID from config.json's spiffeBundles is valid as the gate finds it; another trust domain's or an unknown key's is refused with the gate's code and check", async () => {
    const dir = await initialised();
    folders.push(dirname(dir));
    // A SPIRE server's JWT authority and its bundle file, as `spire-server bundle show -format spiffe` writes it.
    const spire = async (kid: string) => {
      const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
      const jwk = { ...(await exportJWK(publicKey)), kid, use: "jwt-svid" } as JWK;
      const svid = (sub = SUPPORT) => {
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ sub, aud: [AUDIENCE], exp: now + 300, iat: now })
          .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
          .sign(privateKey);
      };
      return { jwk, svid };
    };
    const ours = await spire("spire-jwt-1");
    const stranger = await spire("spire-jwt-other");
    writeFileSync(join(dir, "spire-bundle.json"), JSON.stringify({ keys: [ours.jwk] }));
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as object;
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({
        ...config,
        spiffeBundles: [{ trustDomain: "acme.example", jwksPath: "spire-bundle.json" }],
      }),
    );
    const verify = async (token: string) => {
      const result = await cli(dir, "token", "verify", token, "--json");
      const shown = JSON.parse(result.out) as Record<string, unknown>;
      return { exit: result.code, ...shown };
    };
    // The gate's refusal of a call with the credential, as `code` or `code/check`.
    const gateSays = async (token: string) => {
      const gate = await createGate({ directory: dir, watchPolicies: false });
      try {
        await gate.invoke(
          { tool: { name: "crm_lookup", action: "read" }, arguments: {}, credential: token },
          async () => "ran",
        );
        return "ran";
      } catch (error) {
        if (!isAgentGateError(error)) throw error;
        const check = (error.details as { check?: string } | undefined)?.check;
        return check === undefined ? error.code : `${error.code}/${check}`;
      } finally {
        await gate.close();
      }
    };

    const valid = await ours.svid();
    expect(await verify(valid)).toMatchObject({
      exit: 0,
      valid: true,
      credential: "jwt-svid",
      agent: SUPPORT,
      // An SVID proves identity: the registry's scopes, as the gate gives them.
      scopes: ["crm:read"],
    });
    expect((await cli(dir, "token", "verify", valid)).out).toMatch(/^valid: spiffe:\/\/acme/);
    // The gate (policy aside: crm_lookup's read is not permitted at this hour or for no
    // customer) authenticates the same SVID: its denial is policy's, not the credential's.
    expect(await gateSays(valid)).toBe("access_denied");

    const otherDomain = await ours.svid("spiffe://other.example/agent/support");
    expect(await verify(otherDomain)).toMatchObject({
      exit: 1,
      valid: false,
      code: "token_invalid",
      check: "sub",
    });
    expect(await gateSays(otherDomain)).toBe("token_invalid/sub");

    const unknownKey = await stranger.svid();
    expect(await verify(unknownKey)).toMatchObject({
      exit: 1,
      valid: false,
      code: "token_invalid",
      check: "kid",
    });
    expect(await gateSays(unknownKey)).toBe("token_invalid/kid");

    // The SVID's agent suspended: refused as a token would be.
    await cli(dir, "agent", "suspend", SUPPORT);
    expect(await verify(valid)).toMatchObject({ exit: 1, code: "agent_suspended" });
    expect(await gateSays(valid)).toBe("agent_suspended");
  });
});
