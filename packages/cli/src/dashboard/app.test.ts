import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { CedarPolicyClient } from "@agentgate/cedar";
import { JsonFileAgentRegistry } from "@agentgate/core/node";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ARCHIVER,
  BILLING,
  gateRun,
  LEGACY,
  OPS,
  SUPPORT,
  tamper,
  XSS_ARGUMENT,
} from "../../test/gate-run.js";
import { readVerifiedLog } from "../insights/index.js";
import {
  activitySchema,
  denialsSchema,
  eventDetailSchema,
  findingsSchema,
  integritySchema,
  inventorySchema,
  seriesSchema,
  summarySchema,
} from "./api-schema.js";
import { CONTENT_SECURITY_POLICY, createDashboardApp, SESSION_COOKIE } from "./app.js";
import { dashboardSessions, LOGIN_CODE_TTL_MS } from "./sessions.js";
import { defaultAssetsDirectory, loadStaticAssets } from "./static-assets.js";

const HOST = "127.0.0.1:8788";
let dir: string;
let policy: CedarPolicyClient;

beforeAll(async () => {
  dir = await gateRun();
  policy = CedarPolicyClient.fromDirectory(join(dir, "policies"));
});
afterAll(async () => {
  await policy.close();
  rmSync(dirname(dir), { recursive: true, force: true });
});

function dashboard(options: { adminToken?: string; now?: () => number; audit?: string } = {}) {
  const sessions = dashboardSessions({
    ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const registry = new JsonFileAgentRegistry(join(dir, "agents.json"));
  const app = createDashboardApp({
    source: {
      trustDomain: "acme.example",
      audit: options.audit ?? join(dir, "audit"),
      agents: () => registry.list(),
      revoked: (agent) => agent === LEGACY,
      policy,
      timeZone: "Europe/Berlin",
      now: () => Date.parse("2026-01-20T00:00:00Z"),
      dormantDays: 10,
    },
    sessions,
    assets: loadStaticAssets(defaultAssetsDirectory()),
    allowedHosts: () => new Set([HOST, "localhost:8788"]),
  });
  return { app, sessions };
}

/** Opens a session with a one-time code; returns the cookie header to send. */
async function login(app: Hono, code: string): Promise<string> {
  const response = await app.request(`/login?code=${code}`, { headers: { host: HOST } });
  expect(response.status).toBe(303);
  const cookie = response.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0] ?? "";
}

async function get(app: Hono, path: string, cookie: string) {
  return app.request(path, { headers: { host: HOST, cookie } });
}

describe("the dashboard's JSON API", () => {
  it("answers every page's data, each of its schema", async () => {
    const { app, sessions } = dashboard();
    const cookie = await login(app, sessions.issueCode());
    const summary = summarySchema.parse(await (await get(app, "/api/summary", cookie)).json());
    expect(summary).toMatchObject({ trustDomain: "acme.example", agents: 5, denials: 6 });
    expect(summary.integrity).toMatchObject({ ok: true, anchored: false });

    const inventory = inventorySchema.parse(
      await (await get(app, "/api/inventory", cookie)).json(),
    );
    expect(inventory.agents.map((agent) => agent.agent)).toEqual([
      SUPPORT,
      OPS,
      BILLING,
      ARCHIVER,
      LEGACY,
    ]);
    expect(inventory.agents.find((agent) => agent.agent === LEGACY)?.revoked).toBe(true);

    const all = activitySchema.parse(await (await get(app, "/api/activity", cookie)).json());
    const denied = activitySchema.parse(
      await (
        await get(app, `/api/activity?agent=${encodeURIComponent(SUPPORT)}&outcome=denied`, cookie)
      ).json(),
    );
    expect(denied.total).toBe(4);
    expect(denied.total).toBeLessThan(all.total);
    expect(all.facets.principals).toContain(OPS);

    const delegated = all.events.find((event) => event.delegated && event.type === "decision");
    expect(delegated).toBeDefined();
    const detail = eventDetailSchema.parse(
      await (await get(app, `/api/events/${delegated?.id}`, cookie)).json(),
    );
    expect(detail.graph.nodes.map((node) => [node.id, node.role])).toEqual([
      [OPS, "principal"],
      [SUPPORT, "actor"],
    ]);
    expect(detail.graph.edges).toEqual([{ from: OPS, to: SUPPORT, label: "delegated to" }]);
    expect(detail.related.map((event) => event.type)).toContain("outcome");

    const denials = denialsSchema.parse(await (await get(app, "/api/denials", cookie)).json());
    expect(denials.byPolicy[0]).toMatchObject({ key: "support-reads-acme-only", count: 2 });

    const findings = findingsSchema.parse(await (await get(app, "/api/findings", cookie)).json());
    expect(findings.policiesAsked).toBe(true);
    expect(findings.findings.map((finding) => finding.kind)).toEqual(
      expect.arrayContaining([
        "unused_scope",
        "unused_permission",
        "dormant_agent",
        "approvals_always_granted",
      ]),
    );
    const series = seriesSchema.parse(await (await get(app, "/api/series", cookie)).json());
    expect(series.agents.map((entry) => entry.agent)).toEqual([BILLING, OPS, SUPPORT]);
    integritySchema.parse(await (await get(app, "/api/integrity", cookie)).json());
  });

  it("refuses a bad filter (400) and an unknown event (404)", async () => {
    const { app, sessions } = dashboard();
    const cookie = await login(app, sessions.issueCode());
    expect((await get(app, "/api/activity?outcome=maybe", cookie)).status).toBe(400);
    expect((await get(app, "/api/activity?limit=100000", cookie)).status).toBe(400);
    expect((await get(app, "/api/activity?nonsense=1", cookie)).status).toBe(400);
    expect((await get(app, "/api/events/no-such-event", cookie)).status).toBe(404);
  });

  it("O121: a tampered log reports the first bad record and shows nothing after it", async () => {
    const { cpSync, mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const copy = join(mkdtempSync(join(tmpdir(), "agentgate-dashboard-tampered-")), "audit");
    cpSync(join(dir, "audit"), copy, { recursive: true });
    tamper(dirname(copy));
    try {
      const { app, sessions } = dashboard({ audit: copy });
      const cookie = await login(app, sessions.issueCode());
      const integrity = integritySchema.parse(
        await (await get(app, "/api/integrity", cookie)).json(),
      );
      expect(integrity.ok).toBe(false);
      const broken = integrity.chains[0];
      expect(broken?.ok).toBe(false);
      const original = await readVerifiedLog(join(dir, "audit"));
      const firstDenial = original.records.find((record) => record.decision?.allowed === false);
      expect(broken?.firstBadSeq).toBe(firstDenial?.seq);
      expect(broken?.verifiedThroughSeq).toBe((firstDenial?.seq ?? 0) - 1);
      const activity = activitySchema.parse(await (await get(app, "/api/activity", cookie)).json());
      expect(activity.total).toBe(firstDenial?.seq);
    } finally {
      rmSync(dirname(copy), { recursive: true, force: true });
    }
  });
});

describe("the dashboard's defences (SECURITY.md O116–O120)", () => {
  it("O116: without a session the page and every API answer are refused", async () => {
    const { app } = dashboard({ adminToken: "s3cret-admin-token-0123456789" });
    for (const path of [
      "/api/summary",
      "/api/inventory",
      "/api/activity",
      "/api/events/x",
      "/api/findings",
    ])
      expect((await get(app, path, "")).status).toBe(401);
    expect((await get(app, "/api/summary", `${SESSION_COOKIE}=forged`)).status).toBe(401);
    const page = await get(app, "/", "");
    expect(page.status).toBe(401);
    expect(await page.text()).toContain("Admin token");
  });

  it("O116: a one-time code works once, expires, and the cookie is HttpOnly, SameSite=Strict and not the token", async () => {
    let now = 1_000_000;
    const token = "s3cret-admin-token-0123456789";
    const { app, sessions } = dashboard({ adminToken: token, now: () => now });
    const code = sessions.issueCode();
    const first = await app.request(`/login?code=${code}`, { headers: { host: HOST } });
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/");
    const cookie = first.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain(token);
    expect(cookie).not.toContain(code);
    expect((await app.request(`/login?code=${code}`, { headers: { host: HOST } })).status).toBe(
      401,
    );
    const late = sessions.issueCode();
    now += LOGIN_CODE_TTL_MS + 1;
    expect((await app.request(`/login?code=${late}`, { headers: { host: HOST } })).status).toBe(
      401,
    );
  });

  it("O116: the admin token is accepted typed into the login form, never from the URL", async () => {
    const token = "s3cret-admin-token-0123456789";
    const { app } = dashboard({ adminToken: token });
    expect((await app.request(`/login?code=${token}`, { headers: { host: HOST } })).status).toBe(
      401,
    );
    const post = (body: string, origin = `http://${HOST}`) =>
      app.request("/login", {
        method: "POST",
        headers: { host: HOST, origin, "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    expect((await post("token=wrong")).status).toBe(401);
    const ok = await post(`token=${token}`);
    expect(ok.status).toBe(303);
    const cookie = (ok.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect((await get(app, "/api/summary", cookie)).status).toBe(200);
  });

  it("O117: answers carry a CSP without inline scripts, and log content comes back as JSON data", async () => {
    const { app, sessions } = dashboard();
    const cookie = await login(app, sessions.issueCode());
    const page = await get(app, "/", cookie);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const activity = await get(app, "/api/activity?outcome=denied", cookie);
    expect(activity.headers.get("content-type")).toMatch(/^application\/json/);
    const parsed = activitySchema.parse(await activity.json());
    const texts = await Promise.all(
      parsed.events.map(async (event) =>
        JSON.stringify(await (await get(app, `/api/events/${event.id}`, cookie)).json()),
      ),
    );
    expect(texts.some((text) => text.includes(JSON.stringify(XSS_ARGUMENT).slice(1, -1)))).toBe(
      true,
    );
  });

  it("O118: a Host other than the loopback address and port is refused (DNS rebinding)", async () => {
    const { app, sessions } = dashboard();
    const cookie = await login(app, sessions.issueCode());
    for (const host of ["evil.example", "evil.example:8788", "127.0.0.1:9999", "127.0.0.1"]) {
      const response = await app.request("/api/summary", { headers: { host, cookie } });
      expect(response.status).toBe(421);
    }
    expect(
      (
        await app.request(`/login?code=${sessions.issueCode()}`, {
          headers: { host: "evil.example" },
        })
      ).status,
    ).toBe(421);
  });

  it("O119: nothing but GET is answered, and a cross-site login post is refused (CSRF)", async () => {
    const token = "s3cret-admin-token-0123456789";
    const { app, sessions } = dashboard({ adminToken: token });
    const cookie = await login(app, sessions.issueCode());
    for (const method of ["POST", "PUT", "DELETE", "PATCH"])
      expect(
        (await app.request("/api/summary", { method, headers: { host: HOST, cookie } })).status,
      ).toBe(405);
    const crossSite = await app.request("/login", {
      method: "POST",
      headers: {
        host: HOST,
        origin: "http://evil.example",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: `token=${token}`,
    });
    expect(crossSite.status).toBe(403);
    const noOrigin = await app.request("/login", {
      method: "POST",
      headers: { host: HOST, "content-type": "application/x-www-form-urlencoded" },
      body: `token=${token}`,
    });
    expect(noOrigin.status).toBe(403);
    const fetchSite = await app.request("/login", {
      method: "POST",
      headers: {
        host: HOST,
        origin: `http://${HOST}`,
        "sec-fetch-site": "cross-site",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: `token=${token}`,
    });
    expect(fetchSite.status).toBe(403);
  });
});
