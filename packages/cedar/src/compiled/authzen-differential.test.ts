import type { AuthZenEvaluation } from "@agentgate/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { CedarPolicyClient } from "../cedar-policy-client.js";

/**
 * The compiled evaluator behind `CedarPolicyClient` against cedar-wasm behind the same client, on
 * AuthZEN-shaped requests: typed subjects (`user`, `agent`, `identity` through the entity type
 * table, types the schema does not know), properties as attributes (of the declared type or
 * not), and an entity store whose parents `in` reads transitively.
 */
const ENTITY_DECLARATIONS = `entity Role in [Role];
entity Team;
entity User in [Role, Team] = { email: String, level?: Long, tags?: Set<String>, profile?: { dept: String } };
entity Agent = { owner?: String, delegated?: Bool } tags String;
entity Doc in [Team] = { owner?: String, status?: String, size?: Long };`;

const SCHEMA = `${ENTITY_DECLARATIONS}
action "view", "edit", "delete" appliesTo { principal: [User, Agent], resource: [Doc], context: { ip?: String, hour?: Long } };`;

/** The same, with action groups: cedar-wasm then validates requests against the schema. */
const GROUPED_SCHEMA = `${ENTITY_DECLARATIONS}
action "read";
action "view" in ["read"] appliesTo { principal: [User, Agent], resource: [Doc], context: { ip?: String, hour?: Long } };
action "edit", "delete" appliesTo { principal: [User, Agent], resource: [Doc], context: { ip?: String, hour?: Long } };`;

const POLICIES = `@id("agent-views")
permit (principal is Agent, action == Action::"view", resource) when { principal has owner && principal.owner == "alice" };
@id("editors-edit-own")
permit (principal in Role::"editor", action == Action::"edit", resource)
when { resource has owner && resource.owner == principal.email && !(resource has status && resource.status == "archived") };
@id("senior-views")
permit (principal is User, action == Action::"view", resource) when { principal has level && principal.level >= 3 };
@id("team-docs")
permit (principal, action, resource in Team::"blue") when { principal in Team::"blue" };
@id("tagged-agent")
permit (principal is Agent, action == Action::"delete", resource) when { principal.hasTag("env") && principal.getTag("env") == "prod" };
@id("dept-views")
permit (principal is User, action == Action::"view", resource) when { principal has profile && principal.profile.dept == "ops" };
@id("big-docs-forbidden")
forbid (principal, action == Action::"delete", resource) when { resource has size && resource.size > 100 };
@id("archived-forbidden")
forbid (principal, action, resource is Doc) when { resource has status && resource.status == "archived" && !(principal in Role::"admin") };
@id("night-forbidden")
forbid (principal is User, action, resource) when { context has hour && context.hour < 6 };`;

const GROUPED_POLICIES = `${POLICIES}
@id("readers")
permit (principal in Role::"viewer", action in Action::"read", resource);`;

const role = (id: string) => ({ type: "Role", id });
const team = (id: string) => ({ type: "Team", id });
const ENTITIES = [
  { uid: role("viewer"), attrs: {}, parents: [] },
  { uid: role("editor"), attrs: {}, parents: [role("viewer")] },
  { uid: role("admin"), attrs: {}, parents: [role("editor")] },
  { uid: team("blue"), attrs: {}, parents: [] },
  { uid: team("red"), attrs: {}, parents: [] },
  {
    uid: { type: "User", id: "bo" },
    attrs: { email: "bo@x.test", level: 1 },
    parents: [role("admin")],
  },
  { uid: { type: "User", id: "cy" }, attrs: { email: "cy@x.test" }, parents: [team("blue")] },
  { uid: { type: "User", id: "di" }, attrs: { email: "di@x.test" }, parents: [role("viewer")] },
  { uid: { type: "Doc", id: "d-blue" }, attrs: {}, parents: [team("blue")] },
];

const clients: CedarPolicyClient[] = [];
function pair(schema: string, policies: string) {
  const made = (evaluator: "compiled" | "cedar-wasm") => {
    const client = new CedarPolicyClient({
      policies: { "p.cedar": policies },
      schema,
      entities: ENTITIES,
      entityTypes: { identity: "User" },
      evaluator,
    });
    clients.push(client);
    return client;
  };
  return { compiled: made("compiled"), wasm: made("cedar-wasm") };
}
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

const text = fc.constantFrom("alice", "bo", "cy", "di", "bo@x.test", "cy@x.test", "ops", "prod");
/** A property value: mostly of the declared type, sometimes not (a string for a Long...). */
const value = fc.oneof(
  text,
  fc.integer({ min: -5, max: 200 }),
  fc.boolean(),
  fc.array(text, { maxLength: 3 }),
  fc.record({ dept: text }),
  fc.constantFrom("archived", "draft"),
);
/** Properties of the declared types (most requests), or anything (some). */
const typed = fc.record(
  {
    email: fc.constantFrom("bo@x.test", "cy@x.test", "alice@x.test"),
    level: fc.integer({ min: 0, max: 5 }),
    tags: fc.array(text, { maxLength: 2 }),
    profile: fc.record({ dept: fc.constantFrom("ops", "dev") }),
    owner: text,
    delegated: fc.boolean(),
    status: fc.constantFrom("archived", "draft"),
    size: fc.integer({ min: 0, max: 200 }),
  },
  { requiredKeys: [] },
);
const anything = fc.dictionary(
  fc.constantFrom(
    "email",
    "level",
    "tags",
    "profile",
    "owner",
    "delegated",
    "status",
    "size",
    "labels",
    "undeclared",
  ),
  value,
  { maxKeys: 4 },
);
const properties = fc.option(
  fc.oneof({ weight: 4, arbitrary: typed }, { weight: 1, arbitrary: anything }),
  { nil: undefined },
);
const labels = fc.option(fc.dictionary(fc.constantFrom("env", "team"), text, { maxKeys: 2 }), {
  nil: undefined,
});

const evaluation: fc.Arbitrary<AuthZenEvaluation> = fc
  .record({
    subjectType: fc.constantFrom("user", "user", "agent", "agent", "identity", "robot"),
    subjectId: fc.constantFrom("alice", "bo", "cy", "di", "eve"),
    subjectProperties: properties,
    labels,
    action: fc.constantFrom("view", "view", "edit", "edit", "delete", "read", "undeclared"),
    resourceType: fc.constantFrom("doc", "doc", "doc", "doc", "doc", "user", "todo"),
    resourceId: fc.constantFrom("d1", "d-blue", "bo"),
    resourceProperties: properties,
    context: fc.option(
      fc.record(
        {
          hour: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 23 }) }, text),
          ip: text,
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
  })
  .map((drawn) => {
    const subjectProperties =
      drawn.labels === undefined
        ? drawn.subjectProperties
        : { ...drawn.subjectProperties, labels: drawn.labels };
    return {
      subject: {
        type: drawn.subjectType,
        id: drawn.subjectId,
        ...(subjectProperties === undefined ? {} : { properties: subjectProperties }),
      },
      action: { name: drawn.action },
      resource: {
        type: drawn.resourceType,
        id: drawn.resourceId,
        ...(drawn.resourceProperties === undefined ? {} : { properties: drawn.resourceProperties }),
      },
      ...(drawn.context === undefined ? {} : { context: drawn.context }),
    } as AuthZenEvaluation;
  });

async function agree(schema: string, policies: string, runs: number) {
  const { compiled, wasm } = pair(schema, policies);
  expect(compiled.engine.evaluator).toBe("compiled");
  const seen = { allow: 0, deny: 0, compiled: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(evaluation, async (request) => {
      const [got, expected] = [await compiled.evaluate(request), await wasm.evaluate(request)];
      if (got.allowed) seen.allow++;
      else seen.deny++;
      if (compiled.explain(request).engine === "compiled") seen.compiled++;
      if (got.reason.includes("does not fit the Cedar schema")) {
        // The compiled path validates every request against the schema, as Cedar's request
        // validation does (cedar-wasm here only where the schema groups actions): a request off
        // the schema (an undeclared type for the action, a context member of the wrong type) is
        // denied, naming no policy.
        seen.refused++;
        expect(got.allowed).toBe(false);
        return;
      }
      expect({ allowed: got.allowed, policies: [...got.policies].sort() }).toEqual({
        allowed: expected.allowed,
        policies: [...expected.policies].sort(),
      });
    }),
    { numRuns: runs, seed: 20261201 },
  );
  console.log(`authzen differential: ${JSON.stringify(seen)}`);
  return seen;
}

describe("the compiled evaluator on AuthZEN requests", () => {
  it("agrees with cedar-wasm on typed subjects, properties as attributes and stored parents", async () => {
    const seen = await agree(SCHEMA, POLICIES, 2_000);
    // Both outcomes occur, and most requests are decided compiled (values off their declared
    // type go to cedar-wasm).
    expect(seen.allow).toBeGreaterThan(30);
    expect(seen.deny).toBeGreaterThan(1_000);
    expect(seen.compiled).toBeGreaterThan(1_500);
  }, 600_000);

  it("agrees with cedar-wasm when the schema groups actions (cedar-wasm validates requests)", async () => {
    const seen = await agree(GROUPED_SCHEMA, GROUPED_POLICIES, 1_000);
    expect(seen.allow).toBeGreaterThan(15);
    expect(seen.deny).toBeGreaterThan(500);
    expect(seen.compiled).toBeGreaterThan(750);
  }, 600_000);
});
