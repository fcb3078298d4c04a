import { AuthZenPolicyClient } from "@agentgate/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, todoApp, USERS } from "../../test/todo-workspace.js";

let todo: Awaited<ReturnType<typeof todoApp>>;
beforeAll(async () => {
  todo = await todoApp();
});
afterAll(async () => {
  await todo.policy.close();
});

// biome-ignore lint/suspicious/noExplicitAny: test reads of JSON bodies
const json = async (response: Promise<Response>): Promise<any> => (await response).json();
const user = (who: keyof typeof USERS) => ({ type: "user", id: USERS[who].id });
const todoOf = (owner: keyof typeof USERS, id = `todo-of-${owner}`) => ({
  type: "todo",
  id,
  properties: { ownerID: USERS[owner].email },
});
const decide = async (body: unknown) => {
  const response = await postJson(todo.app, "/access/v1/evaluation", body);
  expect(response.status).toBe(200);
  return ((await response.json()) as { decision: boolean }).decision;
};
const can = (who: keyof typeof USERS, action: string, resource: unknown) =>
  decide({ subject: user(who), action: { name: action }, resource });

describe("AuthZEN PDP: the Todo rules (own cases)", () => {
  it("roles through the role hierarchy: viewers read, editors create, with no context sent", async () => {
    expect(await can("vi", "can_read_todos", { type: "todo", id: "t" })).toBe(true);
    expect(await can("vi", "can_read_user", user("ada"))).toBe(true);
    expect(await can("vi", "can_create_todo", { type: "todo", id: "t" })).toBe(false);
    expect(await can("ed", "can_create_todo", { type: "todo", id: "t" })).toBe(true);
    expect(await can("ada", "can_create_todo", { type: "todo", id: "t" })).toBe(true);
    expect(
      await decide({
        subject: { type: "user", id: "u-nobody" },
        action: { name: "can_read_todos" },
        resource: { type: "todo", id: "t" },
      }),
    ).toBe(false);
  });

  it("ownership through resource.properties: editors change their own todos, admins delete and evil geniuses update anyone's", async () => {
    expect(await can("ed", "can_update_todo", todoOf("ed"))).toBe(true);
    expect(await can("ed", "can_delete_todo", todoOf("ed"))).toBe(true);
    expect(await can("ed", "can_update_todo", todoOf("vi"))).toBe(false);
    expect(await can("ed", "can_delete_todo", todoOf("vi"))).toBe(false);
    expect(await can("ed", "can_update_todo", { type: "todo", id: "no-owner" })).toBe(false);
    expect(await can("ada", "can_delete_todo", todoOf("ed"))).toBe(true);
    expect(await can("ada", "can_update_todo", todoOf("ed"))).toBe(false);
    expect(await can("eve", "can_update_todo", todoOf("ed"))).toBe(true);
    expect(await can("eve", "can_delete_todo", todoOf("ed"))).toBe(false);
    expect(await can("vi", "can_update_todo", todoOf("vi"))).toBe(false);
  });

  it("the stored user is authoritative: a request cannot claim someone else's email", async () => {
    const claimed = {
      subject: { ...user("ed"), properties: { email: USERS.vi.email } },
      action: { name: "can_update_todo" },
      resource: todoOf("vi"),
    };
    expect(await decide(claimed)).toBe(false);
  });

  it("draft-00 members beside type and id are read as properties; properties win", async () => {
    const flat = { type: "todo", id: "t", ownerID: USERS.ed.email };
    expect(await can("ed", "can_update_todo", flat)).toBe(true);
    expect(
      await can("ed", "can_update_todo", { ...flat, properties: { ownerID: USERS.vi.email } }),
    ).toBe(false);
  });

  it("API gateway routes and methods; the type table maps `identity` to User", async () => {
    const route = (id: string) => ({ type: "route", id });
    const at = (who: keyof typeof USERS, method: string, path: string) =>
      decide({
        subject: { type: "identity", id: USERS[who].id },
        action: { name: method },
        resource: route(path),
      });
    expect(await at("vi", "GET", "/todos")).toBe(true);
    expect(await at("vi", "GET", "/users/{userId}")).toBe(true);
    expect(await at("vi", "POST", "/todos")).toBe(false);
    expect(await at("ed", "POST", "/todos")).toBe(true);
    expect(await at("ed", "PUT", "/todos/{todoId}")).toBe(true);
    expect(await at("vi", "DELETE", "/todos/{todoId}")).toBe(false);
    expect(await at("ada", "DELETE", "/todos/{todoId}")).toBe(true);
    expect(await at("ed", "PATCH", "/todos/{todoId}")).toBe(false);
  });

  it("L91: a `user` and an `agent` with the same id are different principals", async () => {
    const as = (type: string) =>
      decide({
        subject: { type, id: USERS.ed.id },
        action: { name: "can_create_todo" },
        resource: { type: "todo", id: "t" },
      });
    expect(await as("user")).toBe(true);
    expect(await as("agent")).toBe(false);
    const answer = await json(
      postJson(todo.app, "/access/v1/evaluation", {
        subject: { type: "agent", id: USERS.ed.id },
        action: { name: "can_create_todo" },
        resource: { type: "todo", id: "t" },
      }),
    );
    expect(answer.context.reason_user.en).toBe("This action is not permitted.");
  });

  it("a request missing a required member is a 400 naming it", async () => {
    const response = await postJson(todo.app, "/access/v1/evaluation", {
      subject: user("ed"),
      action: { name: "can_read_todos" },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: "invalid_request",
      error_description: expect.stringContaining("resource"),
    });
  });
});

describe("AuthZEN PDP: batches (§7)", () => {
  const batch = (body: unknown) => json(postJson(todo.app, "/access/v1/evaluations", body));
  const decisions = async (body: unknown) =>
    (await batch(body)).evaluations.map((item: { decision: boolean }) => item.decision);

  it("no `evaluations` is the single evaluation of the top level", async () => {
    const single = await batch({
      subject: user("ed"),
      action: { name: "can_create_todo" },
      resource: { type: "todo", id: "t" },
    });
    expect(single).toMatchObject({ decision: true });
    expect(single.evaluations).toBeUndefined();
    const empty = await batch({
      subject: user("vi"),
      action: { name: "can_create_todo" },
      resource: { type: "todo", id: "t" },
      evaluations: [],
    });
    expect(empty).toMatchObject({ decision: false });
    expect(
      (await postJson(todo.app, "/access/v1/evaluations", { subject: user("vi") })).status,
    ).toBe(400);
  });

  it("defaults from the top level, each overridden by an item's own key", async () => {
    expect(
      await decisions({
        subject: user("ed"),
        action: { name: "can_update_todo" },
        evaluations: [
          { resource: todoOf("ed") },
          { resource: todoOf("vi") },
          { resource: todoOf("vi"), subject: user("eve") },
          { resource: todoOf("vi"), action: { name: "can_read_todos" } },
        ],
      }),
    ).toEqual([true, false, true, true]);
  });

  it("an item that cannot be evaluated is that item's deny with a reason; the others are decided", async () => {
    const answer = await batch({
      subject: user("ed"),
      action: { name: "can_create_todo" },
      evaluations: [
        { resource: { type: "todo", id: "1" } },
        {},
        7,
        { resource: { type: "todo" } },
        { resource: { type: "todo", id: "2" } },
      ],
    });
    expect(answer.evaluations.map((item: { decision: boolean }) => item.decision)).toEqual([
      true,
      false,
      false,
      false,
      true,
    ]);
    for (const failed of answer.evaluations.slice(1, 4)) {
      expect(failed.context.error.status).toBe(400);
      expect(typeof failed.context.error.message).toBe("string");
    }
    expect(answer.evaluations[1].context.error.message).toContain("resource");
  });

  it("the three evaluations_semantic values", async () => {
    const run = (semantic?: string) =>
      decisions({
        subject: user("ed"),
        action: { name: "can_update_todo" },
        evaluations: [
          { resource: todoOf("ed") },
          { resource: todoOf("vi") },
          { resource: todoOf("ed") },
        ],
        ...(semantic ? { options: { evaluations_semantic: semantic } } : {}),
      });
    expect(await run()).toEqual([true, false, true]);
    expect(await run("execute_all")).toEqual([true, false, true]);
    expect(await run("deny_on_first_deny")).toEqual([true, false]);
    expect(await run("permit_on_first_permit")).toEqual([true]);
    const unknown = await postJson(todo.app, "/access/v1/evaluations", {
      subject: user("ed"),
      action: { name: "can_update_todo" },
      evaluations: [{ resource: todoOf("ed") }],
      options: { evaluations_semantic: "first_wins" },
    });
    expect(unknown.status).toBe(400);
  });

  it("more than 100 items is a 400", async () => {
    const response = await postJson(todo.app, "/access/v1/evaluations", {
      subject: user("ed"),
      action: { name: "can_read_todos" },
      evaluations: Array.from({ length: 101 }, (_, index) => ({
        resource: { type: "todo", id: String(index) },
      })),
    });
    expect(response.status).toBe(400);
  });
});

describe("AuthZEN PDP: search (§8) and metadata (§9)", () => {
  const search = (kind: string, body: unknown) =>
    json(postJson(todo.app, `/access/v1/search/${kind}`, body));
  const ids = (answer: { results: Array<{ id: string }> }) =>
    answer.results.map((entity) => entity.id);

  it("subject search: the known users who are permitted", async () => {
    const answer = await search("subject", {
      subject: { type: "user" },
      action: { name: "can_create_todo" },
      resource: { type: "todo", id: "t" },
    });
    expect(ids(answer).sort()).toEqual([USERS.ada.id, USERS.ed.id, USERS.eve.id].sort());
    expect(answer.page).toEqual({ next_token: "", count: 3 });
  });

  it("resource search: the known entities of the type that are permitted", async () => {
    const answer = await search("resource", {
      subject: user("vi"),
      action: { name: "can_read_user" },
      resource: { type: "user" },
    });
    expect(ids(answer).sort()).toEqual(
      Object.values(USERS)
        .map((entry) => entry.id)
        .sort(),
    );
    expect(answer.results[0]).toEqual({ type: "user", id: expect.any(String) });
  });

  it("action search: the schema's actions for these types that are permitted", async () => {
    const names = async (who: keyof typeof USERS, resource: unknown) =>
      (await search("action", { subject: user(who), resource })).results
        .map((action: { name: string }) => action.name)
        .sort();
    expect(await names("vi", todoOf("vi"))).toEqual(["can_read_todos"]);
    expect(await names("ed", todoOf("ed"))).toEqual([
      "can_create_todo",
      "can_delete_todo",
      "can_read_todos",
      "can_update_todo",
    ]);
    expect(await names("ed", todoOf("vi"))).toEqual(["can_create_todo", "can_read_todos"]);
  });

  it("pages: a limit, a next_token bound to the request", async () => {
    const body = {
      subject: { type: "user" },
      action: { name: "can_read_todos" },
      resource: { type: "todo", id: "t" },
      page: { limit: 3 },
    };
    const first = await search("subject", body);
    expect(first.results).toHaveLength(3);
    expect(first.page.next_token).not.toBe("");
    const second = await search("subject", {
      ...body,
      page: { limit: 3, token: first.page.next_token },
    });
    expect(second.results).toHaveLength(1);
    expect(second.page.next_token).toBe("");
    expect(new Set([...ids(first), ...ids(second)]).size).toBe(4);
    const changed = await postJson(todo.app, "/access/v1/search/subject", {
      ...body,
      action: { name: "can_create_todo" },
      page: { limit: 3, token: first.page.next_token },
    });
    expect(changed.status).toBe(400);
  });

  it("the metadata names the https PDP and only endpoints that are served", async () => {
    const metadata = await json(
      Promise.resolve(todo.app.request("/.well-known/authzen-configuration")),
    );
    expect(metadata.policy_decision_point).toBe("https://pdp.todo.test");
    const endpoints = Object.entries(metadata).filter(([key]) => key.endsWith("_endpoint"));
    expect(endpoints.map(([key]) => key).sort()).toEqual([
      "access_evaluation_endpoint",
      "access_evaluations_endpoint",
      "search_action_endpoint",
      "search_resource_endpoint",
      "search_subject_endpoint",
    ]);
    for (const [, url] of endpoints) {
      const path = new URL(String(url)).pathname;
      expect(String(url).startsWith("https://pdp.todo.test/")).toBe(true);
      const response = await postJson(todo.app, path, {});
      expect(response.status, path).toBe(400);
    }
  });

  it("the AuthZenPolicyClient discovers it and decides through it (no socket)", async () => {
    const client = await AuthZenPolicyClient.discover("https://pdp.todo.test", {
      fetch: async (url, init) => todo.app.request(String(url), init),
    });
    expect(client).toBeInstanceOf(AuthZenPolicyClient);
  });
});
