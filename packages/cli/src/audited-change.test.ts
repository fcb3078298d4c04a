import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AuditEvent, MemoryAuditSink } from "@agentgate/core";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, cli, initialised, OPS, SUPPORT } from "../test/workspace.js";
import { adminActor, osUser, recordThenApply } from "./audited-change.js";
import { startServer } from "./server.js";
import { openWorkspace } from "./workspace.js";

const HOLDER = fileURLToPath(new URL("../test/hold-audit-log.mjs", import.meta.url));
const holders: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const holder of holders.splice(0)) holder.kill();
  for (const dir of dirs.splice(0)) rmSync(dirname(dir), { recursive: true, force: true });
});

/** A real second process holding the directory's audit log, as a running gate does. */
async function holdLog(dir: string): Promise<ChildProcess> {
  const holder = spawn(process.execPath, [HOLDER, join(dir, "audit")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  holders.push(holder);
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    holder.once("exit", (code) => reject(new Error(`the holder exited (${code})`)));
  });
  return holder;
}

async function release(holder: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => holder.once("exit", resolve));
  holder.stdin?.end();
  await exited;
}

type Trail = Array<{
  type: string;
  agent?: string;
  actor?: { type: string; id: string };
  details?: Record<string, unknown>;
}>;

describe("every state change is audited, with who made it (K83)", () => {
  it("K83: while another process holds the log, agent add/suspend/resume/revoke and keys rotate/retire are each recorded before they take effect", async () => {
    const dir = await initialised();
    dirs.push(dir);
    const holder = await holdLog(dir);
    const third = "spiffe://acme.example/agent/research";
    const oldKid = JSON.parse((await cli(dir, "keys", "list", "--json")).out)[0].kid as string;
    for (const args of [
      ["agent", "add", third, "--owner", "carol@acme.example"],
      ["agent", "update", third, "--owner", "dave@acme.example", "--purpose", "research"],
      ["agent", "suspend", OPS],
      ["agent", "resume", OPS],
      ["agent", "revoke", SUPPORT, "--reason", "left the team"],
      ["keys", "rotate"],
      ["keys", "retire", "--", oldKid],
    ]) {
      const run = await cli(dir, ...args);
      expect(run.err, args.join(" ")).toBe("");
      expect(run.code, args.join(" ")).toBe(0);
    }
    await release(holder);

    const trail = JSON.parse((await cli(dir, "audit", "query", "--json")).out) as Trail;
    const changes = trail
      .filter((event) => event.actor !== undefined)
      .map((event) => [event.type, event.agent ?? event.details?.change ?? event.details?.kid]);
    expect(changes).toEqual([
      ["config_change", "created"],
      ["agent_change", SUPPORT],
      ["agent_change", OPS],
      ["agent_change", third],
      ["agent_change", third],
      ["agent_change", OPS],
      ["agent_change", OPS],
      ["revocation", SUPPORT],
      ["key_rotation", "rotate"],
      ["outcome", "key_rotation"],
      ["key_rotation", "retire"],
    ]);
    for (const event of trail.filter((item) => item.actor !== undefined))
      expect(event.actor).toMatchObject({ type: "user", id: expect.stringContaining("@") });
    expect(trail.find((event) => event.details?.change === "updated")?.details?.changes).toEqual({
      owner: { from: "carol@acme.example", to: "dave@acme.example" },
      purpose: { from: null, to: "research" },
    });
    const shown = JSON.parse((await cli(dir, "agent", "show", third, "--json")).out);
    expect(shown).toMatchObject({ owner: "dave@acme.example", purpose: "research" });
    expect(trail.find((event) => event.type === "revocation")?.details).toEqual({
      kind: "agent",
      id: SUPPORT,
      reason: "left the team",
    });
    // They went to this command's own chain, which verifies with the log's own.
    const chains = readdirSync(join(dir, "audit", "writers"), { withFileTypes: true });
    expect(chains.filter((entry) => entry.isDirectory())).toHaveLength(1);
    const verified = await cli(dir, "audit", "verify", "--json");
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.out).writers[0]).toMatchObject({ ok: true, records: 8 });
  });

  it("K83: a change whose event cannot be written is not made", async () => {
    const dir = await initialised();
    dirs.push(dir);
    // A log whose tail does not check cannot be written to: the revocation must not happen.
    appendFileSync(join(dir, "audit", "audit-000001.jsonl"), `{"seq":99,"hash":"00"}\n`);
    const revoke = await cli(dir, "agent", "revoke", SUPPORT);
    expect(revoke.code).toBe(1);
    expect(revoke.err).toMatch(/audit/);
    const suspend = await cli(dir, "agent", "suspend", OPS);
    expect(suspend.code).toBe(1);
    const shown = JSON.parse((await cli(dir, "agent", "list", "--json")).out) as Array<{
      id: string;
      revoked: boolean;
      supervision: string;
    }>;
    expect(shown.find((row) => row.id === SUPPORT)?.revoked).toBe(false);
    expect(shown.find((row) => row.id === OPS)?.supervision).toBe("supervised");
    expect((await cli(dir, "keys", "rotate")).code).toBe(1);
    expect(JSON.parse((await cli(dir, "keys", "list", "--json")).out)).toHaveLength(1);
  });
});

/** A sink that fails every write (but, with `except`, the events of that type). */
const failingSink = (except?: AuditEvent["type"]) => ({
  write: async (event: AuditEvent) => {
    if (event.type !== except) throw new Error("disk full");
  },
  flush: async () => {},
  close: async () => {},
});

describe("recordThenApply: the event first", () => {
  it("K83: when the event cannot be written the change is never applied (audit_unavailable)", async () => {
    let applied = 0;
    await expect(
      recordThenApply(failingSink(), osUser(), { type: "revocation", details: {} }, async () => {
        applied++;
      }),
    ).rejects.toMatchObject({ code: "audit_unavailable" });
    expect(applied).toBe(0);
  });

  it("a change that fails after its event is followed by a linked failed outcome", async () => {
    const sink = new MemoryAuditSink();
    await expect(
      recordThenApply(sink, osUser(), { type: "key_rotation", details: {} }, async () => {
        throw new Error("key store full");
      }),
    ).rejects.toThrow("key store full");
    const [change, outcome] = sink.events;
    expect(change).toMatchObject({ type: "key_rotation", actor: { type: "user" } });
    expect(outcome).toMatchObject({
      type: "outcome",
      invocationId: change?.invocationId,
      outcome: { status: "failed", error: "key store full" },
    });
  });
});

describe("the server's changes and exchanges are audited (K83)", () => {
  const form = (subject: string, actor: string) =>
    new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: subject,
      actor_token: actor,
      audience: AUDIENCE,
    });
  const post = (
    url: string,
    body: URLSearchParams | object,
    headers: Record<string, string> = {},
  ) =>
    fetch(url, {
      method: "POST",
      headers: {
        "content-type":
          body instanceof URLSearchParams
            ? "application/x-www-form-urlencoded"
            : "application/json",
        ...headers,
      },
      body: body instanceof URLSearchParams ? body : JSON.stringify(body),
    });

  it("K83: suspend and resume record the supervision they change from and to; resume restores the state before, also after POST /admin/suspend; a refused change writes nothing", async () => {
    const dir = await initialised();
    dirs.push(dir);
    const third = "spiffe://acme.example/agent/research";
    const add = ["agent", "add", third, "--owner", "carol@acme.example"];
    // Autonomous: an agent whose state before suspension was lost would resume supervised.
    expect((await cli(dir, ...add)).code).toBe(0);
    expect((await cli(dir, "agent", "suspend", third)).code).toBe(0);
    expect((await cli(dir, "agent", "resume", third)).out).toContain(`${third} is autonomous`);
    const workspace = await openWorkspace(dir);
    const server = await startServer({ workspace, port: 0, adminToken: "admin-secret" });
    try {
      const bearer = { authorization: "Bearer admin-secret" };
      expect((await post(`${server.url}/admin/suspend`, { agent: third }, bearer)).status).toBe(
        200,
      );
    } finally {
      await server.close();
    }
    expect((await cli(dir, "agent", "resume", third)).out).toContain(`${third} is autonomous`);
    const events = async () =>
      JSON.parse((await cli(dir, "audit", "query", "--json")).out) as Trail;
    const written = (await events()).length;
    // Refusals (exit 2) before any event: not suspended, an unknown agent.
    expect((await cli(dir, "agent", "resume", third)).code).toBe(2);
    expect((await cli(dir, "agent", "revoke", `${third}-typo`)).code).toBe(2);
    expect((await cli(dir, "agent", "suspend", `${third}-typo`)).code).toBe(2);
    const trail = await events();
    expect(trail).toHaveLength(written);
    expect(
      trail
        .filter((event) => event.agent === third && event.type === "agent_change")
        .map((event) => [
          event.details?.change,
          event.details?.from,
          event.details?.to,
          event.actor?.type,
        ]),
    ).toEqual([
      ["added", undefined, undefined, "user"],
      ["suspended", "autonomous", "suspended", "user"],
      ["resumed", "suspended", "autonomous", "user"],
      ["suspended", "autonomous", "suspended", "admin"],
      ["resumed", "suspended", "autonomous", "user"],
    ]);
    // The server wrote a chain of its own; every chain verifies.
    expect((await cli(dir, "audit", "verify")).out).toMatch(/\nwriter .*: ok: \d+ records verify/);
  });

  it("K83: POST /admin/suspend and /admin/revoke record the admin token's id; token exchange records granted and refused", async () => {
    const dir = await initialised();
    dirs.push(dir);
    const workspace = await openWorkspace(dir);
    const audit = new MemoryAuditSink();
    const server = await startServer({ workspace, port: 0, adminToken: "admin-secret", audit });
    try {
      const bearer = { authorization: "Bearer admin-secret" };
      const subject = await workspace.authority.issueToken(OPS, {
        audience: workspace.authority.issuer,
        scope: ["crm:read"],
        mayAct: [SUPPORT],
      });
      const actor = await workspace.authority.issueToken(SUPPORT, {
        audience: workspace.authority.issuer,
      });
      expect((await post(`${server.url}/token`, form(subject.token, actor.token))).status).toBe(
        200,
      );
      expect((await post(`${server.url}/token`, form(subject.token, "not-a-jwt"))).status).toBe(
        400,
      );
      expect((await post(`${server.url}/admin/suspend`, { agent: OPS }, bearer)).status).toBe(200);
      const revoke = { kind: "agent", id: SUPPORT };
      expect((await post(`${server.url}/admin/revoke`, revoke, bearer)).status).toBe(200);
    } finally {
      await server.close();
    }
    const admin = adminActor("admin-secret");
    expect(admin.id).not.toContain("admin-secret");
    expect(audit.events[0]).toMatchObject({
      type: "policy_loaded",
      actor: { type: "service" },
      details: { reload: false, version: 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(
      audit.events.slice(1).map((event) => [event.type, event.actor, event.decision?.allowed]),
    ).toEqual([
      ["token_exchange", { type: "agent", id: SUPPORT }, true],
      ["token_exchange", undefined, false],
      ["agent_change", admin, undefined],
      ["revocation", admin, undefined],
    ]);
    expect(audit.events[1]).toMatchObject({ chain: [OPS, SUPPORT], scopes: ["crm:read"] });
    expect(JSON.stringify(audit.events)).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it("K83: when the server cannot write the event, the admin change is not made and no token is issued (503)", async () => {
    const dir = await initialised();
    dirs.push(dir);
    const workspace = await openWorkspace(dir);
    const server = await startServer({
      workspace,
      port: 0,
      adminToken: "admin-secret",
      audit: failingSink("policy_loaded"),
    });
    try {
      const bearer = { authorization: "Bearer admin-secret" };
      const suspend = await post(`${server.url}/admin/suspend`, { agent: OPS }, bearer);
      expect(suspend.status).toBe(503);
      expect((await workspace.registry.get(OPS))?.supervision).toBe("supervised");
      const revoke = await post(`${server.url}/admin/revoke`, { kind: "agent", id: OPS }, bearer);
      expect(revoke.status).toBe(503);
      expect(workspace.revocations.isRevoked("agent", OPS)).toBe(false);
      const subject = await workspace.authority.issueToken(OPS, {
        audience: workspace.authority.issuer,
        mayAct: [SUPPORT],
      });
      const actor = await workspace.authority.issueToken(SUPPORT, {
        audience: workspace.authority.issuer,
      });
      const exchanged = await post(`${server.url}/token`, form(subject.token, actor.token));
      expect(exchanged.status).toBe(503);
      expect(JSON.stringify(await exchanged.json())).not.toContain("eyJ");
    } finally {
      await server.close();
    }
  });
});

describe("policy loads are audited with their hash (K83)", () => {
  it("K83: a server whose first policy_loaded event cannot be written does not start", async () => {
    const dir = await initialised();
    dirs.push(dir);
    await expect(
      startServer({ workspace: await openWorkspace(dir), port: 0, audit: failingSink() }),
    ).rejects.toThrow("disk full");
  });
});
