import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pollUntil } from "../../test/fixtures/poll.js";
import type { AuditEvent } from "../audit/audit-event.js";
import { AgentGateError, isAgentGateError } from "../errors.js";
import { defineAgent } from "../identity/agent-record.js";
import { JwtSvidBundle } from "../identity/jwt-svid.js";
import { MemoryRevocationList } from "../identity/revocation-list.js";
import { verifyAgentToken } from "../identity/verify-agent-token.js";
import { createGate } from "../node/create-gate.js";
import { readAuditLog } from "../node/index.js";
import { allow } from "../policy/decision.js";
import { FunctionPolicyClient } from "../policy/policy-client.js";
import { createTestGate } from "../testing/test-gate.js";
import { currentAgent } from "./agent-context.js";
import type { Gate } from "./gate.js";
import type { ToolInvocation } from "./tool-invocation.js";

// SPIRE-issued JWT-SVIDs presented to a real gate as agent credentials. A SPIRE server's JWT
// authority is an ES256 key with a kid; its bundle (the JWKS of `spire-server bundle show
// -format spiffe`, keys with use "jwt-svid") is what the gate is configured with; SVIDs carry
// header alg/kid/typ JWT and claims sub, aud, exp, iat, as SPIRE's Workload API hands them out.

const AUDIENCE = "https://tools.acme.example";
const SUPPORT = "spiffe://acme.example/agent/support";
const OPS = "spiffe://acme.example/agent/ops";
const READ = { name: "lookup", action: "read" } as const;
const WRITE = { name: "update", action: "write" } as const;

async function spire(trustDomain = "acme.example", kid = "spire-jwt-1") {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, use: "jwt-svid" }] as JWK[] };
  const svid = (claims: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sub: SUPPORT, aud: [AUDIENCE], exp: now + 300, iat: now, ...claims })
      .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
      .sign(privateKey);
  };
  return { trustDomain, jwks, svid, bundle: () => JwtSvidBundle.fromJwks(trustDomain, jwks) };
}

async function setup(options: { bundles?: boolean; requireProofOfPossession?: boolean } = {}) {
  const server = await spire();
  const test = await createTestGate({
    audience: AUDIENCE,
    policy: new FunctionPolicyClient(() => allow("all")),
    agents: [
      { id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] },
      { id: OPS, owner: "ops@acme.example", supervision: "supervised" },
    ],
    ...(options.bundles === false ? {} : { spiffeBundles: [await server.bundle()] }),
    ...(options.requireProofOfPossession === undefined
      ? {}
      : { requireProofOfPossession: options.requireProofOfPossession }),
  });
  return { ...test, server };
}

/** `ok` and what the tool saw, or `code/check` of the refusal; `ran` says whether the tool ran. */
async function outcome(
  gate: Gate,
  credential: string,
  tool: ToolInvocation["tool"] = READ,
): Promise<{ result: string; ran: boolean }> {
  let ran = false;
  try {
    await gate.invoke({ tool, arguments: {}, credential }, async () => {
      ran = true;
      return "ok";
    });
    return { result: "ok", ran };
  } catch (error) {
    if (!isAgentGateError(error)) throw error;
    const check = (error.details as { check?: string } | undefined)?.check;
    return { result: check === undefined ? error.code : `${error.code}/${check}`, ran };
  }
}

const denials = (events: readonly AuditEvent[]) =>
  events.filter((event) => event.type === "decision" && event.decision?.allowed === false);

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("JWT-SVIDs from a configured SPIFFE bundle as gate credentials", () => {
  it("P132: a SPIRE JWT-SVID of a registered agent is allowed, as that agent, audited as a JWT-SVID; without the bundle it is refused", async () => {
    const { gate, audit, server } = await setup();
    const svid = await server.svid({ jti: "svid-1" });
    let seen: ReturnType<typeof currentAgent> | undefined;
    await gate.invoke({ tool: READ, arguments: {}, credential: svid }, async () => {
      seen = currentAgent();
      return "ok";
    });
    expect(seen?.agent.toString()).toBe(SUPPORT);
    expect(seen?.tokenId).toBe("jwt-svid:svid-1");
    expect(seen?.scopes).toEqual(["crm:read"]);
    expect(seen?.jwtSvid).toEqual({ trustDomain: "acme.example" });
    const decision = audit.events.find((event) => event.type === "decision");
    expect(decision).toMatchObject({
      agent: SUPPORT,
      tokenId: "jwt-svid:svid-1",
      owner: "alice@acme.example",
      decision: { allowed: true },
      details: { credential: "jwt-svid", trustBundle: "acme.example" },
    });
    // gate.check takes the same path.
    expect(await gate.check({ tool: READ, credential: svid })).toMatchObject({ allowed: true });

    // The same SVID at a gate that names no SPIFFE bundle is a foreign token.
    const closed = await setup({ bundles: false });
    expect(await outcome(closed.gate, await server.svid())).toEqual({
      result: "token_invalid/typ",
      ran: false,
    });
    expect(denials(closed.audit.events)).toHaveLength(1);
  });

  it("P132: a JWT-SVID of another trust domain, or for another audience, is refused at the gate", async () => {
    const { gate, audit, server } = await setup();
    // Another SPIRE (evil.example), no bundle configured for it: its keys are never tried.
    const evil = await spire("evil.example");
    expect(
      await outcome(gate, await evil.svid({ sub: "spiffe://evil.example/agent/support" })),
    ).toEqual({ result: "token_invalid/sub", ran: false });
    // Our SPIRE's key naming an agent of another trust domain.
    expect(
      await outcome(gate, await server.svid({ sub: "spiffe://evil.example/agent/support" })),
    ).toEqual({ result: "token_invalid/sub", ran: false });
    // Another SPIRE's key claiming one of our agents: unknown kid, then bad signature.
    const impostor = await spire("acme.example", "evil-jwt-1");
    expect(await outcome(gate, await impostor.svid())).toEqual({
      result: "token_invalid/kid",
      ran: false,
    });
    const sameKid = await spire("acme.example");
    expect(await outcome(gate, await sameKid.svid())).toEqual({
      result: "token_invalid/signature",
      ran: false,
    });
    for (const aud of ["https://other.acme.example", [AUDIENCE, "https://other.acme.example"]]) {
      expect(await outcome(gate, await server.svid({ aud }))).toEqual({
        result: "token_invalid/aud",
        ran: false,
      });
    }
    expect(denials(audit.events)).toHaveLength(6);
    expect(denials(audit.events).every((event) => event.details?.tokenFingerprint)).toBe(true);
  });

  it("P133: an SVID skips no registry check: unregistered, revoked (agent or SVID id), suspended and supervised agents as for a token", async () => {
    const { gate, audit, authority, registry, server } = await setup();
    expect(
      await outcome(gate, await server.svid({ sub: "spiffe://acme.example/agent/nobody" })),
    ).toEqual({ result: "agent_unknown", ran: false });

    await authority.revocations.revoke("token", "jwt-svid:leaked");
    expect(await outcome(gate, await server.svid({ jti: "leaked" }))).toEqual({
      result: "token_revoked/revoked",
      ran: false,
    });
    expect(await outcome(gate, await server.svid({ jti: "fine" }))).toEqual({
      result: "ok",
      ran: true,
    });

    // A supervised agent's write waits for approval; with no approver it never runs.
    const ops = await server.svid({ sub: OPS });
    expect(await outcome(gate, ops, READ)).toEqual({ result: "ok", ran: true });
    expect((await outcome(gate, ops, WRITE)).ran).toBe(false);

    await registry.put(
      defineAgent({ id: SUPPORT, owner: "alice@acme.example", supervision: "suspended" }),
    );
    expect(await outcome(gate, await server.svid())).toEqual({
      result: "agent_suspended",
      ran: false,
    });
    // Refused by the registry after the SVID verified: the audit log names the agent.
    expect(denials(audit.events).at(-1)).toMatchObject({
      agent: SUPPORT,
      details: { credential: "jwt-svid" },
    });
    await authority.revocations.revoke("agent", SUPPORT);
    expect(await outcome(gate, await server.svid())).toEqual({
      result: "agent_revoked/revoked",
      ran: false,
    });
    // Revoked before it is trusted: only the fingerprint, as for a revoked agent's token.
    expect(denials(audit.events).at(-1)?.details?.tokenFingerprint).toBeTypeOf("string");
  });

  it("P133: verifyAgentToken (gate and CLI) takes the SVID path too; a revocation list that is unavailable denies it", async () => {
    const { authority, registry, server } = await setup();
    const options = {
      verifier: authority.verifier(),
      registry,
      audience: AUDIENCE,
      spiffeBundles: [await server.bundle()],
    };
    const svid = await server.svid();
    const { agent } = await verifyAgentToken(svid, options);
    expect(agent.agent.toString()).toBe(SUPPORT);
    const revocations = new MemoryRevocationList();
    const down = Object.assign(revocations, {
      unavailable: () => new AgentGateError("revocation_unavailable", "The list is gone."),
    });
    const error = await verifyAgentToken(svid, { ...options, revocations: down }).catch(
      (e: unknown) => e,
    );
    expect(isAgentGateError(error) && error.code).toBe("revocation_unavailable");
  });

  it("P134: requireProofOfPossession refuses a JWT-SVID (a bearer credential); gate.refuse names an SVID caller", async () => {
    const strict = await setup({ requireProofOfPossession: true });
    expect(await outcome(strict.gate, await strict.server.svid())).toEqual({
      result: "token_invalid/proof_of_possession",
      ran: false,
    });

    const { gate, audit, server } = await setup();
    const refused = await gate.refuse(
      { tool: { name: "unknown_tool" }, credential: await server.svid() },
      new AgentGateError("access_denied", "Unknown tool."),
    );
    expect(refused.code).toBe("access_denied");
    expect(denials(audit.events).at(-1)).toMatchObject({
      agent: SUPPORT,
      details: { credential: "jwt-svid" },
    });
  });

  it("P135: createGate reads spiffeBundles from config.json (jwks or jwksPath); a bad entry is invalid_configuration naming file and key", async () => {
    const directory = mkdtempSync(join(tmpdir(), "agentgate-svid-"));
    roots.push(directory);
    const server = await spire();
    const policy = new FunctionPolicyClient(() => allow("all"));
    const base = { trustDomain: "acme.example", audience: AUDIENCE };
    const write = (config: object) =>
      writeFileSync(join(directory, "config.json"), JSON.stringify({ ...base, ...config }));
    const failure = async () => {
      const error = await createGate({ directory, policy, watchPolicies: false }).then(
        async (gate) => {
          await gate.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(isAgentGateError(error) && error.code).toBe("invalid_configuration");
      return (error as Error).message;
    };

    writeFileSync(join(directory, "spire-bundle.json"), JSON.stringify(server.jwks));
    write({ spiffeBundles: [{ trustDomain: "acme.example", jwksPath: "spire-bundle.json" }] });
    const gate = await createGate({ directory, policy, watchPolicies: false });
    try {
      await gate.registry.put(defineAgent({ id: SUPPORT, owner: "alice@acme.example" }));
      expect(await outcome(gate, await server.svid())).toEqual({ result: "ok", ran: true });
    } finally {
      await gate.close();
    }
    write({ spiffeBundles: [{ trustDomain: "acme.example", jwks: server.jwks }] });
    const inline = await createGate({ directory, policy, watchPolicies: false });
    try {
      expect(await outcome(inline, await server.svid())).toEqual({ result: "ok", ran: true });
    } finally {
      await inline.close();
    }

    const file = join(directory, "config.json");
    write({ spiffeBundles: { trustDomain: "acme.example" } });
    expect(await failure()).toContain(`${file}: spiffeBundles must be a list`);
    write({ spiffeBundles: [{ trustDomain: "acme.example" }] });
    expect(await failure()).toContain("spiffeBundles[0] needs exactly one of jwks and jwksPath");
    write({ spiffeBundles: [{ trustDomain: "acme.example", jwksPath: "missing.json" }] });
    expect(await failure()).toContain("spiffeBundles[0].jwksPath");
    write({ spiffeBundles: [{ trustDomain: "Not A Domain", jwks: server.jwks }] });
    expect(await failure()).toContain("spiffeBundles[0] is not a usable bundle");
    const [key] = server.jwks.keys;
    write({
      spiffeBundles: [
        { trustDomain: "acme.example", jwks: { keys: [{ ...key, kid: undefined }] } },
      ],
    });
    expect(await failure()).toContain("no kid");
    write({
      spiffeBundles: [
        { trustDomain: "acme.example", jwks: server.jwks },
        { trustDomain: "acme.example", jwks: server.jwks },
      ],
    });
    expect(await failure()).toContain("spiffeBundles[1].trustDomain names acme.example twice");
    write({ spiffeBundles: [{ trustDomain: "acme.example", jwks: server.jwks, url: "x" }] });
    expect(await failure()).toContain("unknown key: url");
    write({
      spiffeBundles: [{ trustDomain: "acme.example", jwks: server.jwks, refreshSeconds: 1 }],
    });
    expect(await failure()).toContain("spiffeBundles[0].refreshSeconds needs jwksPath");
    write({
      spiffeBundles: [
        { trustDomain: "acme.example", jwksPath: "spire-bundle.json", refreshSeconds: -1 },
      ],
    });
    expect(await failure()).toContain("spiffeBundles[0].refreshSeconds must be a number");
  });

  it("P135: a jwksPath bundle is followed: SPIRE's new key verifies and its dropped key no longer does, without a restart; a broken file keeps the keys in force", async () => {
    const directory = mkdtempSync(join(tmpdir(), "agentgate-svid-"));
    roots.push(directory);
    const first = await spire("acme.example", "spire-jwt-1");
    const second = await spire("acme.example", "spire-jwt-2");
    const bundleFile = join(directory, "spire-bundle.json");
    // As a bundle refresher writes it: a whole new file, renamed into place.
    const publish = (content: string) => {
      writeFileSync(`${bundleFile}.new`, content);
      renameSync(`${bundleFile}.new`, bundleFile);
    };
    const keysOf = (...servers: { jwks: { keys: JWK[] } }[]) =>
      JSON.stringify({ keys: servers.flatMap((server) => server.jwks.keys) });
    publish(keysOf(first));
    writeFileSync(
      join(directory, "config.json"),
      JSON.stringify({
        trustDomain: "acme.example",
        audience: AUDIENCE,
        // Looked at before every SVID, so the test waits for nothing but the file.
        spiffeBundles: [
          { trustDomain: "acme.example", jwksPath: "spire-bundle.json", refreshSeconds: 0 },
        ],
      }),
    );
    const reported: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((message: unknown) => {
      reported.push(String(message));
    });
    const gate = await createGate({
      directory,
      policy: new FunctionPolicyClient(() => allow("all")),
      watchPolicies: false,
    });
    try {
      await gate.registry.put(defineAgent({ id: SUPPORT, owner: "alice@acme.example" }));
      const call = async (server: typeof first) =>
        (await outcome(gate, await server.svid())).result;
      expect(await call(first)).toBe("ok");
      expect(await call(second)).toBe("token_invalid/kid");

      // SPIRE prepares its next key: the bundle holds both, and both verify.
      publish(keysOf(first, second));
      await pollUntil(
        () => call(second),
        (result) => result === "ok",
        { what: "the new key verifies" },
      );
      expect(await call(first)).toBe("ok");

      // A file caught half written, then one with a key that does not import: the keys in
      // force stay, and each fault is reported.
      writeFileSync(bundleFile, '{"keys": [');
      await pollUntil(
        async () => (await call(first)) === "ok" && reported.length > 0,
        (found) => found,
        { what: "the broken file is reported" },
      );
      expect([await call(first), await call(second)]).toEqual(["ok", "ok"]);
      publish(JSON.stringify({ keys: [{ ...second.jwks.keys[0], kid: undefined }] }));
      await pollUntil(
        async () =>
          (await call(first)) === "ok" && reported.some((line) => line.includes("no kid")),
        (found) => found,
        { what: "the unusable bundle is reported" },
      );
      expect([await call(first), await call(second)]).toEqual(["ok", "ok"]);
      expect(
        reported.every((line) => line.includes("spiffeBundles[0] (acme.example) keeps its keys")),
      ).toBe(true);

      // SPIRE drops the old key: its SVIDs are refused from then on.
      publish(keysOf(second));
      await pollUntil(
        () => call(first),
        (result) => result === "token_invalid/kid",
        { what: "the dropped key is refused" },
      );
      expect(await call(second)).toBe("ok");

      // K83: each change of the keys the gate trusts is a config_change event in its log, and
      // the broken files, which changed nothing, are not.
      const changes = async () => {
        const found: Array<Record<string, unknown> | undefined> = [];
        for await (const record of readAuditLog(join(directory, "audit"), {
          type: "config_change",
        }))
          found.push(record.details);
        return found;
      };
      const recorded = await pollUntil(changes, (found) => found.length >= 2, {
        what: "the bundle changes in the log",
      });
      expect(recorded).toEqual([
        {
          change: "spiffe_bundle",
          trustDomain: "acme.example",
          jwksPath: bundleFile,
          keyIds: ["spire-jwt-1", "spire-jwt-2"],
        },
        {
          change: "spiffe_bundle",
          trustDomain: "acme.example",
          jwksPath: bundleFile,
          keyIds: ["spire-jwt-2"],
        },
      ]);
    } finally {
      await gate.close();
      spy.mockRestore();
    }
  });
});
