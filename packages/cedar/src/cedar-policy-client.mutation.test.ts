import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentGateError, type AuthZenEvaluation } from "@agentgate/core";
import { describe, expect, it } from "vitest";
import { OPS, request, SUPPORT } from "../test/requests.js";
import { tempDir } from "../test/temp-dir.js";
import { CedarPolicyClient, DEFAULT_SCHEMA_PATH, type PolicyLoad } from "./cedar-policy-client.js";
import { policySetHash } from "./policy-set-hash.js";

// Mutation tests of CedarPolicyClient (MUTATION.md, group `cedar-policy-client`): the exact
// decision and explanation of each outcome on both evaluators, obligations and safe reasons,
// reloads and their errors, the debug lines, search candidates and what fromDirectory reads.

const PERMIT_ALL = `@id("all-read")\npermit (principal, action == Action::"read", resource);`;
const evaluators = ["compiled", "cedar-wasm"] as const;

function clientOf(
  policies: Record<string, string>,
  options: Partial<ConstructorParameters<typeof CedarPolicyClient>[0]> = {},
) {
  return new CedarPolicyClient({ policies, ...options });
}

describe("CedarPolicyClient decisions, exactly", () => {
  it("an allow names every permitting policy and merges their obligations once each, trimmed, empty parts dropped", async () => {
    const policies = {
      "a.cedar": `@id("p1")\n@obligation(" redact:ssn ;; require-approval ")\npermit (principal, action == Action::"read", resource);`,
      "b.cedar": `@id("p2")\n@obligation("require-approval")\npermit (principal, action, resource);`,
      "c.cedar": `@id("p3")\npermit (principal == Agent::"${SUPPORT}", action, resource);`,
    };
    for (const evaluator of evaluators) {
      const decision = await clientOf(policies, { evaluator }).evaluate(request({}));
      expect(decision.allowed, evaluator).toBe(true);
      expect([...decision.policies].sort()).toEqual(["p1", "p2", "p3"]);
      expect([...decision.obligations].sort()).toEqual(["redact:ssn", "require-approval"]);
      expect(decision.reason).toBe(`permitted by ${decision.policies.join(", ")}`);
    }
  });

  it("a forbid denies with its @reason as the safe reason; without one there is no safe reason", async () => {
    const policies = {
      "a.cedar": PERMIT_ALL,
      "f.cedar": `@id("f1")\nforbid (principal, action, resource == Tool::"crm_export");\n@id("f2")\n@reason("Exports need a human.")\nforbid (principal, action, resource == Tool::"crm_export");`,
      "g.cedar": `@id("g1")\nforbid (principal, action, resource == Tool::"crm_delete");`,
    };
    for (const evaluator of evaluators) {
      const client = clientOf(policies, { evaluator });
      const both = await client.evaluate(request({ tool: "crm_export" }));
      expect(both.allowed).toBe(false);
      expect([...both.policies].sort()).toEqual(["f1", "f2"]);
      expect(both.safeReason).toBe("Exports need a human.");
      expect(both.reason).toBe(`forbidden by ${both.policies.join(", ")}`);
      const bare = await client.evaluate(request({ tool: "crm_delete" }));
      expect(bare).toMatchObject({ allowed: false, policies: ["g1"], reason: "forbidden by g1" });
      // No @reason: the generic safe reason of a denial.
      expect(bare.safeReason).toBe("This action is not permitted.");
      expect(bare.obligations).toEqual([]);
    }
  });

  it("no permit: a default deny with no policies, whether no scope matched or no condition held", async () => {
    const policies = {
      "p.cedar": `@id("ops-only")\npermit (principal == Agent::"${OPS}", action, resource) when { context.environment == "prod" };`,
    };
    for (const evaluator of evaluators) {
      const client = clientOf(policies, { evaluator });
      for (const asked of [request({}), request({ agent: OPS })]) {
        const decision = await client.evaluate(asked);
        expect(decision).toMatchObject({ allowed: false, policies: [] });
        expect(decision.reason).toMatch(/default deny/);
      }
    }
  });

  it("an undeclared action and an unmappable subject are denials, never errors", async () => {
    for (const evaluator of evaluators) {
      const client = clientOf({ "a.cedar": PERMIT_ALL }, { evaluator });
      const undeclared = await client.evaluate(request({ action: "export" }));
      expect(undeclared).toMatchObject({
        allowed: false,
        reason: 'action "export" is not declared in the Cedar schema',
      });
      const odd: AuthZenEvaluation = {
        subject: { type: "", id: "x" },
        action: { name: "read" },
        resource: { type: "tool", id: "t" },
      };
      expect((await client.evaluate(odd)).allowed).toBe(false);
      expect(client.explain(odd)).toMatchObject({ allowed: false, considered: 0, permitting: [] });
    }
  });
});

describe("CedarPolicyClient.explain, exactly", () => {
  const policies = {
    "a.cedar": `@id("reads")\npermit (principal, action == Action::"read", resource) when { context.environment == "test" };`,
    "f.cedar": `\n\n@id("no-export")\nforbid (principal, action, resource == Tool::"crm_export");`,
    "p.cedar": `@id("prod-writes")\npermit (principal, action == Action::"write", resource) when { context.environment == "prod" };`,
  };

  it("permits and forbids are located by file and line; the engine is named", () => {
    for (const evaluator of evaluators) {
      const client = clientOf(policies, { evaluator });
      const permitted = client.explain(request({}));
      expect(permitted).toMatchObject({
        allowed: true,
        permitting: [{ id: "reads", file: "a.cedar", line: 1 }],
        forbidding: [],
        errors: [],
        reason: "permitted by reads",
        engine: evaluator,
      });
      expect(permitted.considered).toBeGreaterThan(0);
      const forbidden = client.explain(request({ tool: "crm_export" }));
      expect(forbidden).toMatchObject({
        allowed: false,
        permitting: [],
        forbidding: [{ id: "no-export", file: "f.cedar", line: 3 }],
        errors: [],
        reason: "forbidden by no-export",
      });
      if (evaluator === "compiled") {
        expect(permitted).not.toHaveProperty("engineReason");
      } else {
        expect(permitted.engineReason).toBe('the client was built with evaluator: "cedar-wasm"');
      }
    }
  });

  it("a default deny says whether no scope matched or the conditions did not hold", () => {
    const wasm = clientOf(policies, { evaluator: "cedar-wasm" });
    const unmatched = wasm.explain(request({ action: "delete" }));
    expect(unmatched).toMatchObject({
      allowed: false,
      considered: 0,
      permitting: [],
      forbidding: [],
    });
    expect(unmatched.reason).toMatch(/^no policy's scope/);
    const unmet = wasm.explain(request({ action: "write" }));
    expect(unmet).toMatchObject({ allowed: false, permitting: [], forbidding: [], errors: [] });
    expect(unmet.reason).toBe(
      `${unmet.considered} policies match the scope but none of their conditions held: default deny`,
    );
    expect(unmet.considered).toBeGreaterThan(0);
    const compiled = clientOf(policies);
    const none = compiled.explain(request({ action: "delete" }));
    expect(none).toMatchObject({ allowed: false, considered: 0, permitting: [], forbidding: [] });
    expect(none.errors).toEqual([none.reason]);
    const held = compiled.explain(request({ action: "write" }));
    expect(held.reason).toBe(
      `${held.considered} policies match the scope but none of their conditions held: default deny`,
    );
  });

  it("an explained denial before evaluation lists its reason as the error", () => {
    const client = clientOf(policies);
    const undeclared = client.explain(request({ action: "export" }));
    expect(undeclared).toEqual({
      allowed: false,
      permitting: [],
      forbidding: [],
      considered: 0,
      errors: ['action "export" is not declared in the Cedar schema'],
      reason: 'action "export" is not declared in the Cedar schema',
      engine: "compiled",
    });
  });
});

describe("CedarPolicyClient engine, debug and reload", () => {
  it("engine and the debug line name the evaluator of each set", () => {
    const lines: string[] = [];
    const compiled = clientOf({ "a.cedar": PERMIT_ALL }, { debug: (line) => lines.push(line) });
    expect(compiled.engine).toEqual({ evaluator: "compiled" });
    const wasm = clientOf(
      { "a.cedar": PERMIT_ALL },
      { evaluator: "cedar-wasm", debug: (line) => lines.push(line) },
    );
    expect(wasm.engine).toEqual({
      evaluator: "cedar-wasm",
      reason: 'the client was built with evaluator: "cedar-wasm"',
    });
    expect(lines).toEqual([
      "cedar: policy set v1 (1 policies) is decided by the compiled evaluator",
      'cedar: policy set v1 (1 policies) is decided by cedar-wasm: the client was built with evaluator: "cedar-wasm"',
    ]);
    compiled.reload(() => ({
      policies: { "a.cedar": PERMIT_ALL, "b.cedar": PERMIT_ALL.replace("all-read", "b") },
    }));
    expect(lines.at(-1)).toBe(
      "cedar: policy set v2 (2 policies) is decided by the compiled evaluator",
    );
    expect(compiled.policies.map((entry) => entry.id)).toEqual(["all-read", "b"]);
  });

  it("reload: a good set bumps the version and clears the last error; a bad one keeps the set and records why", async () => {
    const client = clientOf({ "a.cedar": PERMIT_ALL });
    expect(client.version()).toBe(1);
    expect(client.lastReloadError).toBeUndefined();
    client.reload(() => ({
      policies: { "a.cedar": "permit (principal, action, resource) when { x };" },
    }));
    expect(client.version()).toBe(1);
    expect(client.lastReloadError).toMatchObject({ code: "policy_invalid" });
    expect((await client.evaluate(request({}))).allowed).toBe(true);
    const thrown = new Error("disk gone");
    client.reload(() => {
      throw thrown;
    });
    expect(client.lastReloadError).toBeInstanceOf(AgentGateError);
    expect(client.lastReloadError).toMatchObject({ code: "policy_invalid", cause: thrown });
    const own = new AgentGateError("policy_invalid", "mine");
    client.reload(() => {
      throw own;
    });
    expect(client.lastReloadError).toBe(own);
    // Without a schema the current one stays; with one it is used.
    client.reload(() => ({
      policies: { "a.cedar": `@id("w")\npermit (principal, action == Action::"write", resource);` },
    }));
    expect(client.version()).toBe(2);
    expect(client.lastReloadError).toBeUndefined();
    expect((await client.evaluate(request({ action: "write" }))).allowed).toBe(true);
    const schema = `${readFileSync(DEFAULT_SCHEMA_PATH, "utf8")}\naction "export" appliesTo { principal: [Agent], resource: [Tool], context: Context };`;
    client.reload(() => ({
      policies: {
        "a.cedar": `@id("e")\npermit (principal, action == Action::"export", resource);`,
      },
      schema,
    }));
    expect(client.version()).toBe(3);
    expect((await client.evaluate(request({ action: "export" }))).allowed).toBe(true);
  });

  it("slicing off evaluates the whole set, with the same decisions", async () => {
    const policies = {
      "a.cedar": `@id("s")\npermit (principal == Agent::"${SUPPORT}", action, resource);`,
      "b.cedar": `@id("o")\nforbid (principal == Agent::"${OPS}", action, resource);`,
    };
    for (const slicing of [true, false]) {
      const client = clientOf(policies, { slicing, evaluator: "cedar-wasm" });
      expect((await client.evaluate(request({}))).allowed).toBe(true);
      const ops = client.explain(request({ agent: OPS }));
      expect(ops).toMatchObject({ allowed: false, forbidding: [{ id: "o" }] });
      expect(ops.considered).toBe(slicing ? 1 : 2);
    }
  });
});

describe("CedarPolicyClient search candidates", () => {
  const SCHEMA = `entity Role;\nentity User in [Role];\nentity Doc;\naction "view" appliesTo { principal: [User], resource: [Doc] };\naction "own" appliesTo { principal: [User], resource: [User] };`;
  const entities = [
    { uid: { type: "User", id: "bo" }, attrs: {}, parents: [] },
    { uid: { type: "User", id: "al" }, attrs: {}, parents: [] },
    { uid: { type: "Role", id: "r" }, attrs: {}, parents: [] },
  ];

  it("knownEntities lists the stored entities of the mapped type; knownActions those the schema allows for both types", () => {
    const client = new CedarPolicyClient({ policies: {}, schema: SCHEMA, entities });
    expect(client.knownEntities("user")).toEqual([
      { type: "user", id: "bo" },
      { type: "user", id: "al" },
    ]);
    expect(client.knownEntities("role")).toEqual([{ type: "role", id: "r" }]);
    expect(client.knownEntities("")).toEqual([]);
    expect(client.knownActions("user", "doc")).toEqual(["view"]);
    expect(client.knownActions("user", "user")).toEqual(["own"]);
    expect(client.knownActions("doc", "user")).toEqual([]);
    expect(client.knownActions("", "doc")).toEqual([]);
    expect(client.knownActions("user", "")).toEqual([]);
    const mapped = new CedarPolicyClient({
      policies: {},
      schema: SCHEMA,
      entities,
      entityTypes: { person: "User" },
    });
    expect(mapped.knownEntities("person")).toEqual([
      { type: "person", id: "bo" },
      { type: "person", id: "al" },
    ]);
  });
});

describe("CedarPolicyClient.fromDirectory, exactly", () => {
  it("reads only *.cedar files, sorted; the one schema of the directory; reports the first load", async () => {
    const directory = tempDir("agentgate-cedar-dir-");
    copyFileSync(DEFAULT_SCHEMA_PATH, join(directory, "mine.cedarschema"));
    writeFileSync(join(directory, "b.cedar"), PERMIT_ALL.replace("all-read", "b"));
    writeFileSync(join(directory, "a.cedar"), PERMIT_ALL);
    writeFileSync(join(directory, "notes.txt"), "permit (principal, action, resource);");
    const loads: PolicyLoad[] = [];
    const lines: string[] = [];
    const client = CedarPolicyClient.fromDirectory(directory, {
      onLoad: (load) => loads.push(load),
      evaluator: "cedar-wasm",
      slicing: false,
      debug: (line) => lines.push(line),
    });
    const schema = readFileSync(DEFAULT_SCHEMA_PATH, "utf8");
    const policies = {
      "a.cedar": PERMIT_ALL,
      "b.cedar": PERMIT_ALL.replace("all-read", "b"),
    };
    expect(loads).toEqual([
      {
        version: 1,
        hash: policySetHash({ policies, schema }),
        files: ["a.cedar", "b.cedar"],
        reload: false,
      },
    ]);
    expect(client.policies.map((entry) => entry.file)).toEqual(["a.cedar", "b.cedar"]);
    expect(client.engine.evaluator).toBe("cedar-wasm");
    expect(lines).toHaveLength(1);
    // slicing: false: both policies are evaluated, even for a write that neither's scope matches.
    expect(client.explain(request({ action: "write" })).considered).toBe(2);
    await client.close();
  });

  it("a directory schema, not the shipped one, decides; two schemas fall back to the shipped one; schemaPath wins", async () => {
    const narrow = `entity Agent;\nentity Tool;\naction "read" appliesTo { principal: [Agent], resource: [Tool] };`;
    const directory = tempDir("agentgate-cedar-schema-");
    writeFileSync(join(directory, "narrow.cedarschema"), narrow);
    writeFileSync(join(directory, "a.cedar"), PERMIT_ALL);
    const narrowed = CedarPolicyClient.fromDirectory(directory);
    // The narrow schema declares no write action: a write is undeclared.
    expect((await narrowed.evaluate(request({ action: "write" }))).reason).toBe(
      'action "write" is not declared in the Cedar schema',
    );
    copyFileSync(DEFAULT_SCHEMA_PATH, join(directory, "second.cedarschema"));
    const shipped = CedarPolicyClient.fromDirectory(directory);
    expect((await shipped.evaluate(request({ action: "write" }))).reason).toMatch(/default deny/);
    const chosen = CedarPolicyClient.fromDirectory(directory, {
      schemaPath: join(directory, "narrow.cedarschema"),
    });
    expect((await chosen.evaluate(request({ action: "write" }))).reason).toBe(
      'action "write" is not declared in the Cedar schema',
    );
  });

  it("entities.json must be an array and entity-types.json an object of strings; each must be JSON", () => {
    const directory = tempDir("agentgate-cedar-json-");
    writeFileSync(join(directory, "a.cedar"), PERMIT_ALL);
    const refused = (file: string, text: string) => {
      writeFileSync(join(directory, file), text);
      let caught: unknown;
      try {
        CedarPolicyClient.fromDirectory(directory);
      } catch (error) {
        caught = error;
      }
      writeFileSync(join(directory, file), file === "entities.json" ? "[]" : "{}");
      return caught as AgentGateError | undefined;
    };
    for (const text of ["{}", '"x"', "null", "1"]) {
      expect(refused("entities.json", text)).toMatchObject({
        code: "policy_invalid",
        message: `${join(directory, "entities.json")}: expected an array of Cedar JSON entities.`,
      });
    }
    for (const text of ["[]", "null", '"User"', '{"a":"User","b":1}', '{"a":["User"]}']) {
      expect(refused("entity-types.json", text)).toMatchObject({
        code: "policy_invalid",
        message: expect.stringContaining("expected an object of AuthZEN type"),
      });
    }
    const notJson = refused("entities.json", "[");
    expect(notJson).toMatchObject({
      code: "policy_invalid",
      message: `${join(directory, "entities.json")} is not JSON.`,
    });
    expect(notJson?.cause).toBeInstanceOf(SyntaxError);
    // Both files valid: read, and used.
    writeFileSync(join(directory, "entity-types.json"), '{"person":"Agent"}');
    const client = CedarPolicyClient.fromDirectory(directory);
    expect(client.knownEntities("person")).toEqual([]);
    expect(client.knownActions("person", "tool")).toContain("read");
  });

  it("watch: a change reloads after a short quiet period and reports it; a failed read reports no hash and no files", async () => {
    const directory = tempDir("agentgate-cedar-watch-");
    copyFileSync(DEFAULT_SCHEMA_PATH, join(directory, "s.cedarschema"));
    writeFileSync(join(directory, "a.cedar"), PERMIT_ALL);
    const loads: PolicyLoad[] = [];
    const client = CedarPolicyClient.fromDirectory(directory, {
      watch: true,
      onLoad: (load) => loads.push(load),
    });
    try {
      const until = async (check: () => boolean) => {
        const deadline = Date.now() + 30_000;
        while (!check()) {
          if (Date.now() > deadline) throw new Error("no reload within 30 s");
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      };
      writeFileSync(join(directory, "entities.json"), "[");
      await until(() => loads.some((load) => load.reload && load.error !== undefined));
      const failed = loads.find((load) => load.reload && load.error !== undefined);
      expect(failed).toEqual({
        version: 1,
        files: [],
        reload: true,
        error: expect.stringContaining("is not JSON"),
      });
      writeFileSync(join(directory, "entities.json"), "[]");
      await until(() => loads.some((load) => load.reload && load.version === 2));
      const good = loads.find((load) => load.version === 2);
      expect(good).toEqual({
        version: 2,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        files: ["a.cedar"],
        reload: true,
      });
    } finally {
      await client.close();
    }
  });
});

describe("CedarPolicyClient on cedar-wasm, the paths the compiled evaluator leaves", () => {
  const groups = `${readFileSync(DEFAULT_SCHEMA_PATH, "utf8")}\naction "readers";\naction "browse" in ["readers"] appliesTo { principal: [Agent], resource: [Tool], context: Context };\n`;

  it("action groups: the schema goes with the request, which it validates", async () => {
    const client = new CedarPolicyClient({
      schema: groups,
      evaluator: "cedar-wasm",
      policies: {
        "g.cedar": `@id("readers") permit (principal, action in Action::"readers", resource);`,
      },
    });
    expect(await client.evaluate(request({ action: "browse" }))).toMatchObject({
      allowed: true,
      policies: ["readers"],
    });
    expect((await client.evaluate(request({ action: "read" }))).allowed).toBe(false);
    // A context the schema refuses: cedar-wasm's request validation denies it, with its message.
    const invalid = request({ action: "browse" });
    const bad = { ...invalid, context: { ...invalid.context, environment: 7 } };
    const decision = await client.evaluate(bad as never);
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/^the request does not fit the Cedar schema: .+/);
    expect(decision.reason).not.toContain("undefined");
    const explained = client.explain(bad as never);
    expect(explained).toMatchObject({ allowed: false, considered: 1, errors: [decision.reason] });
  });

  it("I61: an erroring forbid denies on cedar-wasm, naming the policy and Cedar's error", async () => {
    const client = new CedarPolicyClient({
      evaluator: "cedar-wasm",
      policies: {
        "all.cedar": PERMIT_ALL,
        "overflow.cedar": `@id("overflowing-forbid") forbid (principal, action, resource) when { context.time.epochSeconds * 4611686018427387904 > 0 };`,
      },
    });
    const decision = await client.evaluate(request({}));
    expect(decision).toMatchObject({ allowed: false, policies: ["overflowing-forbid"] });
    expect(decision.reason).toMatch(/^policy evaluation failed: overflowing-forbid: .*overflow/);
    expect(client.explain(request({})).errors).toEqual([decision.reason]);
  });

  it("a request no policy's scope matches is a denial before evaluation, with its reason as the error", () => {
    const client = clientOf({ "a.cedar": PERMIT_ALL }, { evaluator: "cedar-wasm" });
    const explained = client.explain(request({ action: "write" }));
    expect(explained).toMatchObject({ allowed: false, considered: 0 });
    expect(explained.errors).toEqual([explained.reason]);
    expect(explained.reason).toBe("no policy's scope matches this request (default deny)");
  });

  it("a set the compiler declines names the file and the policy's own line", () => {
    const client = clientOf({
      "a.cedar": PERMIT_ALL,
      "big.cedar": `// two\n// comments\n@id("far-future")\nforbid (principal, action, resource)\nwhen { context.time.epochSeconds == 9007199254740993 && context.time.epochSeconds != 9007199254740992 };`,
    });
    expect(client.engine.evaluator).toBe("cedar-wasm");
    const line = client.policies.find((entry) => entry.id === "far-future")?.line;
    expect(line).toBeGreaterThan(1);
    expect(client.engine.reason).toContain(
      `(big.cedar:${line}, policy far-future) is not compiled`,
    );
  });
});

describe("CedarPolicyClient: resource tags on the compiled path", () => {
  it("a policy reading a stored resource's tags sees them", async () => {
    const schema = `entity User;\nentity Doc tags String;\naction "view" appliesTo { principal: [User], resource: [Doc] };`;
    const client = new CedarPolicyClient({
      schema,
      policies: {
        "t.cedar": `@id("public") permit (principal, action, resource) when { resource.hasTag("public") };`,
      },
      entities: [
        { uid: { type: "Doc", id: "open" }, attrs: {}, parents: [], tags: { public: "yes" } },
        { uid: { type: "Doc", id: "closed" }, attrs: {}, parents: [], tags: {} },
      ],
    });
    expect(client.engine.evaluator).toBe("compiled");
    const ask = (id: string): AuthZenEvaluation => ({
      subject: { type: "user", id: "u" },
      action: { name: "view" },
      resource: { type: "doc", id },
    });
    expect((await client.evaluate(ask("open"))).allowed).toBe(true);
    expect((await client.evaluate(ask("closed"))).allowed).toBe(false);
  });
});

describe("CedarPolicyClient.fromDirectory: watching only when asked, and not after close", () => {
  it("without watch a change is not loaded; after close a watched client loads nothing more", async () => {
    const directory = tempDir("agentgate-cedar-unwatched-");
    copyFileSync(DEFAULT_SCHEMA_PATH, join(directory, "s.cedarschema"));
    writeFileSync(join(directory, "a.cedar"), PERMIT_ALL);
    const loads = {
      unwatched: [] as PolicyLoad[],
      closed: [] as PolicyLoad[],
      open: [] as PolicyLoad[],
    };
    const unwatched = CedarPolicyClient.fromDirectory(directory, {
      onLoad: (load) => loads.unwatched.push(load),
    });
    const closed = CedarPolicyClient.fromDirectory(directory, {
      watch: true,
      onLoad: (load) => loads.closed.push(load),
    });
    await closed.close();
    // The one still watching is the clock: once it has reloaded, the others had the same events.
    const open = CedarPolicyClient.fromDirectory(directory, {
      watch: true,
      onLoad: (load) => loads.open.push(load),
    });
    try {
      writeFileSync(join(directory, "b.cedar"), PERMIT_ALL.replace("all-read", "b"));
      const deadline = Date.now() + 30_000;
      while (open.version() < 2) {
        if (Date.now() > deadline) throw new Error("no reload within 30 s");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect([unwatched.version(), closed.version()]).toEqual([1, 1]);
      expect([loads.unwatched.length, loads.closed.length]).toEqual([1, 1]);
    } finally {
      await open.close();
      await unwatched.close();
    }
  });
});

describe("CedarPolicyClient: agent labels as tags on the compiled path", () => {
  it("a policy reading the principal's tags sees the agent's labels", async () => {
    const client = clientOf({
      "t.cedar": `@id("prod") permit (principal, action, resource) when { principal.hasTag("env") && principal.getTag("env") == "prod" };`,
    });
    expect(client.engine.evaluator).toBe("compiled");
    expect((await client.evaluate(request({ labels: { env: "prod" } }))).allowed).toBe(true);
    expect((await client.evaluate(request({ labels: { env: "dev" } }))).allowed).toBe(false);
  });
});
