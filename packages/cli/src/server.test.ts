import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuthZenPolicyClient, MemoryAuditSink } from "@agentgate/core";
import { accessTime } from "@agentgate/core/internal";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "../test/poll.js";
import { AUDIENCE, cli, initialised, OPS, SUPPORT } from "../test/workspace.js";
import { FeedRevocationList } from "./feed-revocation-list.js";
import { type RunningServer, startServer } from "./server.js";
import { openWorkspace } from "./workspace.js";

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(adminToken?: string) {
  const dir = await initialised();
  const workspace = await openWorkspace(dir);
  const server = await startServer({ workspace, port: 0, ...(adminToken ? { adminToken } : {}) });
  servers.push(server);
  return { dir, workspace, url: server.url };
}

const seedRequest = (customer: string, at = "2026-01-05T09:00:00Z") => ({
  subject: { type: "agent", id: SUPPORT, properties: { scopes: ["crm:read"] } },
  action: { name: "read", properties: { tool: "crm_lookup" } },
  resource: { type: "tool", id: "crm_lookup" },
  context: {
    time: accessTime(Date.parse(at), "Europe/Berlin"),
    environment: "test",
    resources: { customer },
  },
});
// biome-ignore lint/suspicious/noExplicitAny: test reads of JSON bodies
const json = async (response: Response | Promise<Response>): Promise<any> =>
  (await response).json();
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("agentgate serve", () => {
  it("publishes the JWKS and discovery documents, with no private key material", async () => {
    const { url, workspace } = await serve();
    const jwks = await json(fetch(`${url}/.well-known/jwks.json`));
    expect(jwks.keys).toHaveLength(1);
    expect(JSON.stringify(jwks)).not.toMatch(/"d"\s*:/);
    expect(await (await fetch(`${url}/.well-known/openid-configuration`)).json()).toMatchObject({
      issuer: workspace.authority.issuer,
      jwks_uri: `${url}/.well-known/jwks.json`,
      token_endpoint: `${url}/token`,
    });
    expect(await (await fetch(`${url}/.well-known/authzen-configuration`)).json()).toEqual({
      policy_decision_point: url,
      access_evaluation_endpoint: `${url}/access/v1/evaluation`,
      access_evaluations_endpoint: `${url}/access/v1/evaluations`,
      search_subject_endpoint: `${url}/access/v1/search/subject`,
      search_resource_endpoint: `${url}/access/v1/search/resource`,
      search_action_endpoint: `${url}/access/v1/search/action`,
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ status: "ready" });
  });

  it("AuthZEN evaluation: a permit, a deny as HTTP 200 false, X-Request-ID echoed, 400 for malformed input, 413 for huge bodies", async () => {
    const { url } = await serve();
    const permit = await post(`${url}/access/v1/evaluation`, seedRequest("acme"), {
      "x-request-id": "req-1",
    });
    expect(permit.status).toBe(200);
    expect(permit.headers.get("x-request-id")).toBe("req-1");
    expect(await permit.json()).toMatchObject({
      decision: true,
      context: { policies: ["support-reads-acme"] },
    });
    const denied = await post(`${url}/access/v1/evaluation`, seedRequest("globex"));
    expect(denied.status).toBe(200);
    const body = await denied.json();
    expect(body).toMatchObject({
      decision: false,
      context: { reason_user: { en: "This action is not permitted." } },
    });
    expect(JSON.stringify(body)).not.toContain("permit (");
    expect((await post(`${url}/access/v1/evaluation`, { subject: { id: "x" } })).status).toBe(400);
    expect((await post(`${url}/access/v1/evaluation`, "not json")).status).toBe(400);
    expect((await post(`${url}/access/v1/evaluation`, { pad: "x".repeat(70_000) })).status).toBe(
      413,
    );
  });

  it("AuthZEN batch: execute_all, deny_on_first_deny and permit_on_first_permit; defaults from the top level", async () => {
    const { url } = await serve();
    const { subject, action, resource, context } = seedRequest("acme");
    const evaluations = [{}, { context: { ...context, resources: { customer: "globex" } } }, {}];
    const run = async (semantic?: string) =>
      (
        await json(
          post(`${url}/access/v1/evaluations`, {
            subject,
            action,
            resource,
            context,
            evaluations,
            ...(semantic ? { options: { evaluations_semantic: semantic } } : {}),
          }),
        )
      ).evaluations.map((entry: { decision: boolean }) => entry.decision);
    expect(await run()).toEqual([true, false, true]);
    expect(await run("execute_all")).toEqual([true, false, true]);
    expect(await run("deny_on_first_deny")).toEqual([true, false]);
    expect(await run("permit_on_first_permit")).toEqual([true]);
  });

  it("the AuthZenPolicyClient talks to it (discovery included)", async () => {
    const { url } = await serve();
    const client = await AuthZenPolicyClient.discover(url);
    const request = {
      ...seedRequest("acme"),
      subject: {
        type: "agent" as const,
        id: SUPPORT,
        properties: {
          owner: "a",
          supervision: "autonomous" as const,
          labels: {},
          scopes: ["crm:read"],
          principal: SUPPORT,
          principalType: "agent" as const,
          chain: [SUPPORT],
          delegated: false,
        },
      },
    };
    expect((await client.evaluate(request)).allowed).toBe(true);
  });

  it("RFC 8693 token exchange delegates with attenuation; widening is refused with invalid_scope", async () => {
    const { url, workspace } = await serve();
    const parent = await workspace.authority.issueToken(OPS, {
      audience: workspace.authority.issuer,
      scope: ["crm:read"],
      mayAct: [SUPPORT],
    });
    const actor = await workspace.authority.issueToken(SUPPORT, {
      audience: workspace.authority.issuer,
    });
    const form = (scope?: string) =>
      new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: parent.token,
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        actor_token: actor.token,
        actor_token_type: "urn:ietf:params:oauth:token-type:jwt",
        audience: AUDIENCE,
        ...(scope ? { scope } : {}),
      });
    const exchange = (body: URLSearchParams) =>
      fetch(`${url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    const ok = await exchange(form());
    expect(ok.status).toBe(200);
    const issued = await json(ok);
    expect(issued).toMatchObject({
      token_type: "Bearer",
      issued_token_type: "urn:ietf:params:oauth:token-type:jwt",
      scope: "crm:read",
    });
    const verified = await workspace.authority
      .verifier()
      .verify(issued.access_token, { audience: AUDIENCE });
    expect(verified.chain).toEqual([OPS, SUPPORT]);
    const wider = await exchange(form("crm:read crm:write"));
    expect(wider.status).toBe(400);
    expect(await wider.json()).toMatchObject({ error: "invalid_scope" });
    const noActor = await fetch(`${url}/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: parent.token,
        audience: AUDIENCE,
      }),
    });
    expect(await noActor.json()).toMatchObject({ error: "invalid_request" });
  });

  it("admin endpoints need the admin bearer; a revocation reaches the feed and a remote gate in another process denies", {
    timeout: 150_000,
  }, async () => {
    const { url, workspace } = await serve("admin-secret");
    const token = (await workspace.authority.issueToken(SUPPORT, { audience: AUDIENCE })).token;
    const remote = spawn(
      process.execPath,
      [fileURLToPath(new URL("../test/remote-gate.mjs", import.meta.url)), url, token, SUPPORT],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const lines: string[] = [];
    remote.stdout.on("data", (chunk: Buffer) => lines.push(...chunk.toString().trim().split("\n")));
    const waitFor = (count: number) =>
      pollUntil(
        () => lines.length,
        (length) => length >= count,
        { what: `line ${count} from the remote gate` },
      );
    await waitFor(1);
    expect(lines[0]).toBe("allowed");
    expect((await post(`${url}/admin/revoke`, { kind: "agent", id: SUPPORT })).status).toBe(401);
    expect(
      (
        await post(
          `${url}/admin/revoke`,
          { kind: "agent", id: SUPPORT },
          { authorization: "Bearer wrong-secret!" },
        )
      ).status,
    ).toBe(401);
    expect(
      (
        await post(
          `${url}/admin/revoke`,
          { kind: "agent", id: SUPPORT, reason: "incident" },
          { authorization: "Bearer admin-secret" },
        )
      ).status,
    ).toBe(200);
    remote.stdin.write("go\n");
    await waitFor(2);
    expect(lines[1]).toBe("agent_revoked");
    expect(await (await fetch(`${url}/revocations?since=0`)).json()).toMatchObject({
      revocations: [{ kind: "agent", id: SUPPORT }],
      next: 1,
    });
    remote.kill();
  });

  it("without an admin token configured, the admin endpoints refuse every caller (403)", async () => {
    const { url } = await serve();
    for (const authorization of [undefined, "Bearer ", "Bearer admin-secret"]) {
      const response = await post(
        `${url}/admin/revoke`,
        { kind: "agent", id: SUPPORT },
        authorization === undefined ? {} : { authorization },
      );
      expect(response.status).toBe(403);
    }
    expect(await (await fetch(`${url}/revocations?since=0`)).json()).toMatchObject({
      revocations: [],
    });
  });

  it("D36 across hosts: a gate whose revocation feed goes quiet treats everything as revoked (fail closed)", async () => {
    const { url } = await serve();
    const feed = await FeedRevocationList.start({ url, intervalMs: 25, maxStalenessMs: 300 });
    try {
      expect(feed.isRevoked("agent", SUPPORT)).toBe(false);
      const running = servers.pop();
      await running?.close();
      await pollUntil(
        () => feed.isRevoked("agent", SUPPORT),
        (revoked) => revoked,
        { what: "the stale feed failing closed" },
      );
      expect(feed.isRevoked("token", "any-token-id")).toBe(true);
      await expect(FeedRevocationList.start({ url })).rejects.toMatchObject({
        code: "revocation_unavailable",
      });
    } finally {
      feed.stop();
    }
  });

  it("admin suspend marks the agent suspended in the shared registry", async () => {
    const { url, dir } = await serve("admin-secret");
    const response = await post(
      `${url}/admin/suspend`,
      { agent: OPS },
      { authorization: "Bearer admin-secret" },
    );
    expect(await response.json()).toEqual({ agent: OPS, supervision: "suspended" });
    expect(JSON.parse((await cli(dir, "agent", "show", OPS, "--json")).out).supervision).toBe(
      "suspended",
    );
  });

  it("on a busy port, startServer rejects with invalid_configuration naming the port", async () => {
    const { workspace, url } = await serve();
    const port = Number(new URL(url).port);
    await expect(startServer({ workspace, port })).rejects.toMatchObject({
      code: "invalid_configuration",
      message: expect.stringContaining(`Port ${port} on 127.0.0.1 is already in use`),
    });
  });

  it("`agentgate serve` on a busy port says so in one line (no stack) and exits 3", {
    timeout: 120_000,
  }, async () => {
    const dir = await initialised();
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
      const child = spawn(process.execPath, [bin, "--dir", dir, "serve", "--port", String(port)], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(3);
      const lines = stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `agentgate: Port ${port} on 127.0.0.1 is already in use: stop what holds it or pass --port.`,
      );
    } finally {
      holder.close();
    }
  });

  it("over a real socket: a 10 MB body is a 413, 5,000-deep JSON a 400, and the server still answers", async () => {
    const { url } = await serve();
    const huge = await fetch(`${url}/access/v1/evaluation`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(10 * 1024 * 1024) }),
    }).catch((error: unknown) => error);
    // The server answers 413 without reading the body; a client still sending may see the
    // connection end instead of the status, which is a refusal too.
    if (typeof (huge as Response).status === "number") expect((huge as Response).status).toBe(413);
    else expect(huge).toBeInstanceOf(Error);
    const deep = await post(
      `${url}/access/v1/evaluation`,
      `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`,
    );
    expect(deep.status).toBe(400);
    expect((await post(`${url}/access/v1/evaluation`, seedRequest("acme"))).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it("over TLS the PDP identifier is https, and discovery names https endpoints", async () => {
    const tls = mkdtempSync(join(tmpdir(), "agentgate-tls-"));
    try {
      // A throwaway self-signed certificate for 127.0.0.1, made for this test only.
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          join(tls, "key.pem"),
          "-out",
          join(tls, "cert.pem"),
          "-days",
          "1",
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ],
        { stdio: "ignore" },
      );
      const cert = readFileSync(join(tls, "cert.pem"));
      const { workspace } = await serve();
      const server = await startServer({
        workspace,
        port: 0,
        tls: { cert, key: readFileSync(join(tls, "key.pem")) },
      });
      servers.push(server);
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const metadata = await new Promise<Record<string, string>>((resolve, reject) => {
        httpsGet(`${server.url}/.well-known/authzen-configuration`, { ca: cert }, (response) => {
          let body = "";
          response.on("data", (chunk: Buffer) => (body += chunk.toString()));
          response.on("end", () => resolve(JSON.parse(body)));
        }).on("error", reject);
      });
      expect(metadata.policy_decision_point).toBe(server.url);
      for (const [key, value] of Object.entries(metadata))
        if (key.endsWith("_endpoint"))
          expect(value.startsWith(`${server.url}/access/v1/`)).toBe(true);
    } finally {
      rmSync(tls, { recursive: true, force: true });
    }
  });
});

describe("POST /token: token exchange done right (L89)", () => {
  const form = (subject: string, actor: string, scope?: string) =>
    new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: subject,
      actor_token: actor,
      audience: AUDIENCE,
      ...(scope ? { scope } : {}),
    });
  const exchange = (url: string, body: URLSearchParams) =>
    fetch(`${url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });

  it("L89: a subject token for another audience, or an actor that may not act for its principal, is refused (invalid_grant) and audited; config.json's exchange allows", async () => {
    const dir = await initialised();
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    config.exchange = {
      subjectAudiences: ["https://exchange.acme.example"],
      mayAct: { [SUPPORT]: [OPS] },
    };
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const workspace = await openWorkspace(dir);
    const audit = new MemoryAuditSink();
    const server = await startServer({ workspace, port: 0, audit });
    servers.push(server);
    const { authority } = workspace;
    const actor = (await authority.issueToken(SUPPORT, { audience: authority.issuer })).token;
    // Addressed to a tool server: whoever holds it cannot trade it for more.
    const forTools = await authority.issueToken(OPS, { audience: AUDIENCE, mayAct: [SUPPORT] });
    const refusedAudience = await exchange(server.url, form(forTools.token, actor));
    expect(refusedAudience.status).toBe(400);
    expect(await refusedAudience.json()).toMatchObject({ error: "invalid_grant" });
    // may_act names another agent: refused, whatever config.json allows.
    const otherActor = await authority.issueToken(OPS, {
      audience: authority.issuer,
      mayAct: [OPS],
    });
    expect((await exchange(server.url, form(otherActor.token, actor))).status).toBe(400);
    // No may_act: config.json's exchange.mayAct decides (SUPPORT may act for OPS, not for itself via OPS's token).
    const plain = await authority.issueToken(OPS, {
      audience: "https://exchange.acme.example",
      scope: ["crm:read"],
    });
    const granted = await exchange(server.url, form(plain.token, actor, "crm:read"));
    expect(granted.status).toBe(200);
    const wider = await exchange(server.url, form(plain.token, actor, "crm:read crm:write"));
    expect(await wider.json()).toMatchObject({ error: "invalid_scope" });
    const opsActor = (await authority.issueToken(OPS, { audience: authority.issuer })).token;
    const supportSubject = await authority.issueToken(SUPPORT, { audience: authority.issuer });
    expect((await exchange(server.url, form(supportSubject.token, opsActor))).status).toBe(400);
    const exchanges = audit.events.filter((event) => event.type === "token_exchange");
    expect(exchanges.map((event) => [event.actor?.id, event.decision?.allowed])).toEqual([
      [SUPPORT, false],
      [SUPPORT, false],
      [SUPPORT, true],
      [SUPPORT, false],
      [OPS, false],
    ]);
    expect(exchanges[0]?.decision?.reason).toMatch(/not addressed to this exchange/);
    expect(exchanges[1]?.decision?.reason).toMatch(/not in may_act/);
    expect(exchanges[4]?.decision?.reason).toMatch(/may not act/);
  });
});
