import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuthZenEvaluation } from "@agentgate/core";
import { afterAll, describe, expect, it } from "vitest";
import { CedarPolicyClient } from "./cedar-policy-client.js";

const SCHEMA = `entity Role in [Role];
entity User in [Role] = { email: String, level?: Long, limit?: decimal };
entity Agent = { owner?: String };
entity Doc = { owner?: String, status?: String };
action "view", "edit" appliesTo { principal: [User, Agent], resource: [Doc] };`;

const POLICIES = {
  "docs.cedar": `@id("alice-agent-views")
permit (principal == Agent::"alice", action == Action::"view", resource);
@id("editors-edit-own")
permit (principal in Role::"editor", action == Action::"edit", resource)
when { resource has owner && resource.owner == principal.email && !(resource has status && resource.status == "archived") };
@id("senior-views")
permit (principal is User, action == Action::"view", resource)
when { principal has level && principal.level >= 3 };
@id("limited-views")
permit (principal is User, action == Action::"view", resource)
when { principal has limit && principal.limit.greaterThan(decimal("10.0")) };`,
};

const role = (id: string) => ({ type: "Role", id });
const ENTITIES = [
  { uid: role("viewer"), attrs: {}, parents: [] },
  { uid: role("editor"), attrs: {}, parents: [role("viewer")] },
  { uid: role("chief"), attrs: {}, parents: [role("editor")] },
  { uid: { type: "User", id: "bo" }, attrs: { email: "bo@x.test" }, parents: [role("chief")] },
];

const clients: CedarPolicyClient[] = [];
const client = (options: Partial<ConstructorParameters<typeof CedarPolicyClient>[0]> = {}) => {
  const made = new CedarPolicyClient({
    policies: POLICIES,
    schema: SCHEMA,
    entities: ENTITIES,
    ...options,
  });
  clients.push(made);
  return made;
};
afterAll(async () => {
  await Promise.all(clients.map((made) => made.close()));
});

const ask = (
  subject: AuthZenEvaluation["subject"],
  action: string,
  resource: AuthZenEvaluation["resource"] = { type: "doc", id: "d1" },
): AuthZenEvaluation => ({ subject, action: { name: action }, resource });

describe("CedarPolicyClient on AuthZEN evaluations", () => {
  it("L91: a `user` and an `agent` with the same id are different principals", async () => {
    const engine = client();
    expect((await engine.evaluate(ask({ type: "agent", id: "alice" }, "view"))).allowed).toBe(true);
    const asUser = await engine.evaluate(ask({ type: "user", id: "alice" }, "view"));
    expect(asUser.allowed).toBe(false);
    expect(asUser.policies).toEqual([]);
  });

  it("stored parents count transitively; ownership comes from resource.properties", async () => {
    const engine = client();
    const bo = { type: "user", id: "bo" };
    const own = { type: "doc", id: "d1", properties: { owner: "bo@x.test" } };
    expect(await engine.evaluate(ask(bo, "edit", own))).toMatchObject({
      allowed: true,
      policies: ["editors-edit-own"],
    });
    expect(
      (
        await engine.evaluate(
          ask(bo, "edit", { type: "doc", id: "d1", properties: { owner: "cy@x.test" } }),
        )
      ).allowed,
    ).toBe(false);
    expect(
      (
        await engine.evaluate(
          ask(bo, "edit", { ...own, properties: { ...own.properties, status: "archived" } }),
        )
      ).allowed,
    ).toBe(false);
    // The store is authoritative: the request cannot make bo someone else.
    expect(
      (
        await engine.evaluate(
          ask({ ...bo, properties: { email: "cy@x.test" } }, "edit", {
            type: "doc",
            id: "d1",
            properties: { owner: "cy@x.test" },
          }),
        )
      ).allowed,
    ).toBe(false);
  });

  it("subject properties become the attributes the schema declares, converted as declared, never coerced", async () => {
    const engine = client();
    const user = (properties: Record<string, unknown>) => ({
      type: "user",
      id: "cy",
      properties: { email: "cy@x.test", ...properties },
    });
    expect((await engine.evaluate(ask(user({ level: 3 }), "view"))).allowed).toBe(true);
    expect((await engine.evaluate(ask(user({ level: 2 }), "view"))).allowed).toBe(false);
    expect((await engine.evaluate(ask(user({ limit: 12.5 }), "view"))).allowed).toBe(true);
    expect((await engine.evaluate(ask(user({ limit: 9 }), "view"))).allowed).toBe(false);
    // A string where a Long is declared is not turned into a number: the policy errors, and denies.
    expect((await engine.evaluate(ask(user({ level: "5" }), "view"))).allowed).toBe(false);
    // Undeclared properties never reach Cedar (no policy can read them).
    expect(
      (await engine.evaluate(ask(user({ clearance: "top", roles: ["chief"] }), "view"))).allowed,
    ).toBe(false);
  });

  it("the entity type table: defaults, a configured alias, and types Cedar cannot name", async () => {
    const engine = client({ entityTypes: { robot: "Agent" } });
    expect((await engine.evaluate(ask({ type: "robot", id: "alice" }, "view"))).allowed).toBe(true);
    const odd = await engine.evaluate(ask({ type: "no such type", id: "alice" }, "view"));
    expect(odd.allowed).toBe(false);
    expect(odd.reason).toContain('subject type "no such type" has no Cedar entity type');
    expect(
      (
        await engine.evaluate(
          ask({ type: "agent", id: "alice" }, "view", { type: "doc/x", id: "d" }),
        )
      ).reason,
    ).toContain("resource type");
    expect(() => client({ entityTypes: { robot: "Not A Name" } })).toThrow(
      expect.objectContaining({ code: "policy_invalid" }),
    );
  });

  it("entities that do not fit the schema, or repeat a uid, refuse to load (policy_invalid)", () => {
    for (const entities of [
      [{ uid: { type: "User", id: "x" }, attrs: { email: 5 }, parents: [] }],
      [{ uid: { type: "Ghost", id: "x" }, attrs: {}, parents: [] }],
      [ENTITIES[0], ENTITIES[0]],
      [{ uid: { type: "User" }, attrs: {} }],
    ]) {
      expect(() => client({ entities })).toThrow(
        expect.objectContaining({ code: "policy_invalid" }),
      );
    }
  });

  it("search candidates: the stored entities of a type, the schema's actions for two types", () => {
    const engine = client();
    expect(engine.knownEntities("user")).toEqual([{ type: "user", id: "bo" }]);
    expect(engine.knownEntities("doc")).toEqual([]);
    expect(engine.knownActions("user", "doc").sort()).toEqual(["edit", "view"]);
    expect(engine.knownActions("doc", "user")).toEqual([]);
  });

  it("fromDirectory reads entities.json and entity-types.json, and refuses a malformed one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agentgate-cedar-authzen-"));
    try {
      writeFileSync(join(dir, "schema.cedarschema"), SCHEMA);
      writeFileSync(join(dir, "docs.cedar"), POLICIES["docs.cedar"]);
      writeFileSync(join(dir, "entities.json"), JSON.stringify(ENTITIES));
      writeFileSync(join(dir, "entity-types.json"), JSON.stringify({ person: "User" }));
      const engine = CedarPolicyClient.fromDirectory(dir);
      clients.push(engine);
      expect(
        (
          await engine.evaluate(
            ask({ type: "person", id: "bo" }, "edit", {
              type: "doc",
              id: "d",
              properties: { owner: "bo@x.test" },
            }),
          )
        ).allowed,
      ).toBe(true);
      writeFileSync(join(dir, "entity-types.json"), JSON.stringify({ person: 5 }));
      expect(() => CedarPolicyClient.fromDirectory(dir)).toThrow(
        expect.objectContaining({ code: "policy_invalid" }),
      );
      writeFileSync(join(dir, "entity-types.json"), "{");
      expect(() => CedarPolicyClient.fromDirectory(dir)).toThrow(
        expect.objectContaining({ code: "policy_invalid" }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
