import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, todoApp, USERS } from "../../test/todo-workspace.js";
import { MAX_BODY_BYTES } from "./app.js";

const ADMIN = "admin-secret-token";
/** An admin route a later module adds: the prefix's guard must cover it with no line of its own. */
const later = () => new Hono().post("/admin/later", (c) => c.json({ reached: true }));

let todo: Awaited<ReturnType<typeof todoApp>>;
let closed: Awaited<ReturnType<typeof todoApp>>;
beforeAll(async () => {
  todo = await todoApp({ adminToken: ADMIN, modules: [later] });
  closed = await todoApp({ modules: [later] });
});
afterAll(async () => {
  await todo.policy.close();
  await closed.policy.close();
});

const valid = {
  subject: { type: "user", id: USERS.ed.id },
  action: { name: "can_create_todo" },
  resource: { type: "todo", id: "t" },
};

/** Every malformed body shape, as raw text. */
const MALFORMED: Record<string, string> = {
  array: "[]",
  "array of a request": JSON.stringify([valid]),
  null: "null",
  string: '"subject"',
  number: "42",
  "not JSON": "{subject:",
  "nested 5,000 deep": `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`,
  "nested arrays 5,000 deep": `${"[".repeat(5000)}${"]".repeat(5000)}`,
  "deep inside context": JSON.stringify({
    ...valid,
    context: { x: JSON.parse(`${'{"a":'.repeat(40)}1${"}".repeat(40)}`) },
  }),
  __proto__: '{"__proto__":{"admin":true},"subject":{"type":"user","id":"u-ed"}}',
  "__proto__ in a property": `{"subject":{"type":"user","id":"u-ed","properties":{"__proto__":{"email":"x"}}},"action":{"name":"can_create_todo"},"resource":{"type":"todo","id":"t"}}`,
  constructor: '{"constructor":{"prototype":{}}}',
  "duplicate member":
    '{"subject":{"type":"user","id":"u-vi","id":"u-ed"},"action":{"name":"can_create_todo"},"resource":{"type":"todo","id":"t"}}',
};

const posts = () =>
  todo.app.routes
    // The test module's /admin/later reads no body: it stands for routes added later.
    .filter((route) => route.method === "POST" && route.path !== "/admin/later")
    .map((route) => route.path)
    .filter((path, index, all) => all.indexOf(path) === index);

describe("the server app: bodies", () => {
  it("every malformed body shape is a 400 on every POST route, and the server keeps deciding", async () => {
    const routes = posts();
    expect(routes).toContain("/access/v1/evaluation");
    expect(routes).toContain("/token");
    for (const path of routes) {
      for (const [shape, body] of Object.entries(MALFORMED)) {
        const response = await postJson(todo.app, path, body, { authorization: `Bearer ${ADMIN}` });
        expect(response.status, `${shape} → ${path}`).toBe(400);
        const answer = (await response.json()) as { error: string; error_description: string };
        expect(answer.error, `${shape} → ${path}`).toMatch(
          /^invalid_request|unsupported_grant_type$/,
        );
        expect(JSON.stringify(answer)).not.toMatch(/at .*\.(js|ts):\d+/);
      }
    }
    const after = await postJson(todo.app, "/access/v1/evaluation", valid);
    expect(await after.json()).toMatchObject({ decision: true });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it("a 10 MB body is a 413 before it is read, declared or streamed, and the server keeps deciding", async () => {
    const huge = JSON.stringify({ ...valid, context: { pad: "x".repeat(10 * 1024 * 1024) } });
    for (const path of posts()) {
      const declared = await postJson(todo.app, path, huge, { authorization: `Bearer ${ADMIN}` });
      expect(declared.status, path).toBe(413);
      expect(await declared.json()).toMatchObject({ error: "request_too_large" });
    }
    // Streamed: no content-length, so the limit counts the bytes as they come.
    const chunk = new TextEncoder().encode("x".repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 10) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await todo.app.request("/access/v1/evaluation", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(10);
    const justUnder = JSON.stringify({
      ...valid,
      context: { pad: "x".repeat(MAX_BODY_BYTES - 200) },
    });
    expect((await postJson(todo.app, "/access/v1/evaluation", justUnder)).status).toBe(200);
    expect(await (await postJson(todo.app, "/access/v1/evaluation", valid)).json()).toMatchObject({
      decision: true,
    });
  });

  it("unknown endpoints are a JSON 404; every answer is no-store and echoes a sane X-Request-ID", async () => {
    const missing = await todo.app.request("/nope", { headers: { "x-request-id": "req-7" } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: "not_found",
      error_description: "no such endpoint",
    });
    expect(missing.headers.get("x-request-id")).toBe("req-7");
    expect(missing.headers.get("cache-control")).toBe("no-store");
    const odd = await todo.app.request("/healthz", { headers: { "x-request-id": "a b" } });
    expect(odd.headers.get("x-request-id")).toBeNull();
  });
});

describe("the server app: the admin prefix", () => {
  const adminRoutes = (app: Hono) =>
    app.routes
      .filter((route) => route.path.startsWith("/admin/") && route.method !== "ALL")
      .map((route) => ({ method: route.method, path: route.path }));

  it("every admin route, including one a later module adds, refuses a missing and a wrong token (401)", async () => {
    const routes = adminRoutes(todo.app);
    expect(routes.map((route) => route.path).sort()).toEqual([
      "/admin/later",
      "/admin/revoke",
      "/admin/suspend",
    ]);
    for (const { method, path } of routes) {
      for (const authorization of [
        undefined,
        "",
        "Bearer",
        "Bearer ",
        `Bearer ${ADMIN}x`,
        `Bearer ${ADMIN.slice(1)}`,
        `Basic ${ADMIN}`,
        ADMIN,
        `bearer ${ADMIN}`,
      ]) {
        const response = await todo.app.request(path, {
          method,
          headers: {
            "content-type": "application/json",
            ...(authorization === undefined ? {} : { authorization }),
          },
          body: "{}",
        });
        expect(response.status, `${method} ${path} with ${authorization}`).toBe(401);
        expect(response.headers.get("www-authenticate")).toContain("Bearer");
      }
    }
    const reached = await postJson(
      todo.app,
      "/admin/later",
      {},
      { authorization: `Bearer ${ADMIN}` },
    );
    expect(await reached.json()).toEqual({ reached: true });
    // Unknown admin paths are refused before they are found missing.
    expect((await postJson(todo.app, "/admin/nothing-here", {})).status).toBe(401);
  });

  it("without a configured admin token, every admin route refuses every caller (403)", async () => {
    for (const { method, path } of adminRoutes(closed.app)) {
      for (const authorization of [undefined, "Bearer ", `Bearer ${ADMIN}`]) {
        const response = await closed.app.request(path, {
          method,
          headers: {
            "content-type": "application/json",
            ...(authorization === undefined ? {} : { authorization }),
          },
          body: "{}",
        });
        expect(response.status, `${method} ${path}`).toBe(403);
      }
    }
  });

  it("admin bodies are checked by a schema: unknown kinds, unknown members and wrong types are 400", async () => {
    const admin = { authorization: `Bearer ${ADMIN}` };
    for (const body of [
      { kind: "everything", id: "x" },
      { kind: "agent", id: "" },
      { kind: "agent", id: "x", extra: true },
      { kind: "agent", id: 5 },
      { kind: "agent", id: "x", reason: "r".repeat(300) },
    ]) {
      expect(
        (await postJson(todo.app, "/admin/revoke", body, admin)).status,
        JSON.stringify(body),
      ).toBe(400);
    }
    expect(
      (
        await postJson(
          todo.app,
          "/admin/suspend",
          { agent: "spiffe://todo.example/agent/none" },
          admin,
        )
      ).status,
    ).toBe(404);
    expect((await postJson(todo.app, "/admin/suspend", { agent: ["x"] }, admin)).status).toBe(400);
  });
});

describe("the server app: token exchange bodies", () => {
  it("a repeated form parameter, a scope that is not scope names, and a foreign grant type are refused", async () => {
    const form = (text: string) =>
      todo.app.request("/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: text,
      });
    const grant = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange";
    expect(
      await (
        await form(`${grant}&subject_token=a&subject_token=b&actor_token=c&audience=x`)
      ).json(),
    ).toMatchObject({ error: "invalid_request" });
    expect(
      await (
        await form(
          `${grant}&subject_token=a&actor_token=c&audience=x&scope=${encodeURIComponent("crm:read <script>")}`,
        )
      ).json(),
    ).toMatchObject({ error: "invalid_request" });
    expect(await (await form(`${grant}&subject_token=a&actor_token=c`)).json()).toMatchObject({
      error: "invalid_target",
    });
    expect(await (await form("grant_type=password&username=a")).json()).toMatchObject({
      error: "unsupported_grant_type",
    });
    expect(
      await (await form(`${grant}&subject_token=a&actor_token=c&audience=x`)).json(),
    ).toMatchObject({ error: "invalid_grant" });
  });
});
