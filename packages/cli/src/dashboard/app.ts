import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie, setCookie } from "hono/cookie";
import type { z } from "zod";
import {
  activityQuerySchema,
  activitySchema,
  denialsSchema,
  eventDetailSchema,
  findingsSchema,
  integritySchema,
  inventorySchema,
  seriesSchema,
  summarySchema,
} from "./api-schema.js";
import {
  activityOf,
  type DashboardSource,
  denialsOf,
  eventOf,
  findingsOf,
  integrityOf,
  inventoryOf,
  seriesOf,
  snapshotLoader,
  summaryOf,
} from "./dashboard-data.js";
import { type DashboardSessions, SESSION_TTL_MS } from "./sessions.js";
import type { StaticAsset } from "./static-assets.js";

/** The session cookie's name. */
export const SESSION_COOKIE = "agentgate_dashboard";

/**
 * The page's Content-Security-Policy: scripts and styles from the dashboard itself only, no
 * inline script, no framing, no form posts elsewhere. A `<script>` that slipped into the DOM
 * from log content would not run.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Options of {@link createDashboardApp}. */
export interface DashboardAppOptions {
  readonly source: DashboardSource;
  readonly sessions: DashboardSessions;
  /** The built browser app (see `loadStaticAssets`). */
  readonly assets: ReadonlyMap<string, StaticAsset>;
  /**
   * The `Host` values this server answers (`127.0.0.1:<port>`, `localhost:<port>`,
   * `[::1]:<port>`); every other Host is refused, which defeats DNS rebinding.
   */
  readonly allowedHosts: () => ReadonlySet<string>;
  /** The witness configured, shown on the integrity page. */
  readonly witness?: string;
}

/**
 * The dashboard's hono app, read-only: the browser app and its JSON API (`/api/*`, every answer
 * of a zod schema in api-schema.ts), behind a session opened by the one-time login URL or the
 * admin token. Refuses other Host headers (421), other methods (405), cross-site login posts
 * (403), and sends a strict CSP with every answer.
 */
export function createDashboardApp(options: DashboardAppOptions): Hono {
  const { source, sessions, assets } = options;
  const snapshot = snapshotLoader(source);
  const app = new Hono();

  // DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends Host: evil.example.
  app.use("*", async (c, next) => {
    const host = c.req.header("host") ?? "";
    if (!options.allowedHosts().has(host.toLowerCase()))
      return c.text("This dashboard answers only on its loopback address.", 421);
    await next();
    c.header("content-security-policy", CONTENT_SECURITY_POLICY);
    c.header("x-content-type-options", "nosniff");
    c.header("x-frame-options", "DENY");
    c.header("referrer-policy", "no-referrer");
    c.header("cross-origin-opener-policy", "same-origin");
    c.header("cross-origin-resource-policy", "same-origin");
    c.header("cache-control", "no-store");
  });
  // Read-only: nothing but GET and HEAD, except the login form.
  app.use("*", async (c, next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    if (method === "POST" && c.req.path === "/login") return next();
    c.header("allow", "GET, HEAD");
    return c.text("The dashboard is read-only.", 405);
  });

  const opened: MiddlewareHandler = async (c, next) => {
    if (!sessions.isOpen(getCookie(c, SESSION_COOKIE)))
      return c.json({ error: "login_required", error_description: "open the login URL" }, 401);
    await next();
  };
  const startSession = (c: Parameters<MiddlewareHandler>[0], session: string) => {
    setCookie(c, SESSION_COOKIE, session, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: SESSION_TTL_MS / 1000,
    });
    // 303 to the app: the one-time code leaves the address bar, and no-referrer keeps it out
    // of any request the page makes.
    return c.redirect("/", 303);
  };

  app.get("/login", (c) => {
    const code = c.req.query("code");
    const session = code === undefined ? undefined : sessions.redeemCode(code);
    if (session !== undefined) return startSession(c, session);
    return c.html(
      loginPage(
        sessions,
        code === undefined ? undefined : "This login link was used already or has expired.",
      ),
      code === undefined ? 200 : 401,
    );
  });
  app.post(
    "/login",
    bodyLimit({ maxSize: 4096, onError: (c) => c.text("too large", 413) }),
    async (c) => {
      // Login CSRF: only the dashboard's own page may post here.
      const origin = c.req.header("origin");
      const site = c.req.header("sec-fetch-site");
      if (
        origin !== `http://${c.req.header("host")}` ||
        (site !== undefined && site !== "same-origin")
      )
        return c.text("Cross-site login refused.", 403);
      const form = await c.req.parseBody();
      const token = typeof form.token === "string" ? form.token : "";
      const session = sessions.redeemAdminToken(token);
      if (session !== undefined) return startSession(c, session);
      return c.html(loginPage(sessions, "That is not the admin token."), 401);
    },
  );

  const page = (c: Parameters<MiddlewareHandler>[0]) => {
    if (!sessions.isOpen(getCookie(c, SESSION_COOKIE))) return c.html(loginPage(sessions), 401);
    const index = assets.get("/index.html");
    if (index === undefined)
      return c.text("The dashboard's browser app is not built (run the package build).", 500);
    return c.body(new Uint8Array(index.body), 200, { "content-type": index.type });
  };
  app.get("/", page);
  app.get("/index.html", page);
  // The built app's scripts and styles hold no data: served without a session.
  app.get("/assets/*", (c) => {
    const asset = assets.get(c.req.path);
    if (asset === undefined) return c.text("not found", 404);
    return c.body(new Uint8Array(asset.body), 200, { "content-type": asset.type });
  });

  app.use("/api/*", opened);
  const send = <T>(c: Parameters<MiddlewareHandler>[0], schema: z.ZodType<T>, value: T) =>
    c.json(schema.parse(value) as object);
  app.get("/api/summary", async (c) =>
    send(c, summarySchema, summaryOf(await snapshot(), source, options.witness)),
  );
  app.get("/api/integrity", async (c) =>
    send(c, integritySchema, integrityOf(await snapshot(), options.witness)),
  );
  app.get("/api/inventory", async (c) =>
    send(c, inventorySchema, inventoryOf(await snapshot(), source)),
  );
  app.get("/api/activity", async (c) => {
    const query = activityQuerySchema.safeParse(c.req.query());
    if (!query.success)
      return c.json({ error: "invalid_request", error_description: query.error.message }, 400);
    return send(c, activitySchema, activityOf(await snapshot(), query.data));
  });
  app.get("/api/events/:id", async (c) => {
    const detail = eventOf(await snapshot(), c.req.param("id"));
    if (detail === undefined)
      return c.json(
        { error: "not_found", error_description: "no such event in the verified log" },
        404,
      );
    return send(c, eventDetailSchema, detail);
  });
  app.get("/api/denials", async (c) => send(c, denialsSchema, denialsOf(await snapshot())));
  app.get("/api/findings", async (c) =>
    send(c, findingsSchema, findingsOf(await snapshot(), source)),
  );
  app.get("/api/series", async (c) => send(c, seriesSchema, seriesOf(await snapshot())));
  app.notFound((c) => c.json({ error: "not_found", error_description: "no such page" }, 404));
  app.onError((_error, c) =>
    c.json({ error: "server_error", error_description: "the dashboard could not answer" }, 500),
  );
  return app;
}

/** The login page: static text only (nothing from the log or the request is written into it). */
function loginPage(sessions: DashboardSessions, problem?: string): string {
  const form = sessions.acceptsAdminToken
    ? `<form method="post" action="/login"><label for="token">Admin token</label> <input id="token" name="token" type="password" autocomplete="current-password" required> <button type="submit">Open the dashboard</button></form>`
    : "";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AgentGate dashboard: log in</title></head><body><main><h1>AgentGate dashboard</h1>${
    problem === undefined ? "" : `<p role="alert">${problem}</p>`
  }<p>Open the one-time login URL that <code>agentgate dashboard</code> printed${
    sessions.acceptsAdminToken ? ", or type the admin token" : ""
  }.</p>${form}</main></body></html>`;
}
