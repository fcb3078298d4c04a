import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { crmLookup, crmUpdate, makeGate, refund } from "../../test/fixtures/gate.js";
import {
  AUDIENCE,
  claims,
  header,
  OPS,
  RESEARCH,
  SUPPORT,
  signRaw,
  WRITER,
} from "../../test/fixtures/identity.js";
import {
  type AgentRegistry,
  ApprovalSuspended,
  allow,
  CachedPolicyClient,
  CallbackApprovalProvider,
  CredentialProvider,
  currentAgent,
  defineAgent,
  deny,
  FunctionPolicyClient,
  Gate,
  isApprovalSuspended,
  type PolicyClient,
} from "../index.js";

const USER = "user:carol@acme.example";

function counter() {
  const calls: Array<Readonly<Record<string, unknown>>> = [];
  const run = async (args: Readonly<Record<string, unknown>>) => {
    calls.push(args);
    return `ok:${String(args.customerId)}`;
  };
  return { calls, run };
}

describe("Gate.invoke: the one path of a call", () => {
  it("E39: an allowed call runs once, with a decision event before and an outcome event after, linked", async () => {
    const { gate, token, events } = await makeGate();
    const tool = counter();
    const seen: string[] = [];
    const result = await gate.invoke(
      { tool: crmLookup, arguments: { customerId: "acme" }, credential: await token(SUPPORT) },
      async (args) => {
        seen.push(...events().map((event) => event.type));
        return tool.run(args);
      },
    );
    expect(result).toBe("ok:acme");
    expect(seen).toEqual(["decision"]);
    const [decision, outcome] = events();
    expect(events()).toHaveLength(2);
    expect(decision).toMatchObject({
      type: "decision",
      agent: SUPPORT,
      principal: SUPPORT,
      chain: [SUPPORT],
      owner: "alice@acme.example",
      tool: { name: "crm_lookup" },
      action: "read",
      resource: { type: "tool", id: "crm_lookup", properties: { customer: "acme" } },
      arguments: { customerId: "acme" },
      decision: { allowed: true, policies: ["support-acme-read"] },
    });
    expect(outcome).toMatchObject({ type: "outcome", outcome: { status: "succeeded" } });
    expect(outcome?.invocationId).toBe(decision?.invocationId);
  });

  it("E39 + H60: a denied call never runs, writes one denied decision event, and tells the model nothing internal", async () => {
    const { gate, token, events } = await makeGate();
    const tool = counter();
    const credential = await token(SUPPORT);
    const error = await gate
      .invoke({ tool: crmLookup, arguments: { customerId: "globex" }, credential }, tool.run)
      .catch((caught: unknown) => caught);
    await expectCode(Promise.reject(error), "access_denied");
    expect(tool.calls).toHaveLength(0);
    expect(events()).toHaveLength(1);
    expect(events()[0]).toMatchObject({
      type: "decision",
      decision: {
        allowed: false,
        code: "access_denied",
        policies: ["support-customer"],
        reason: "support serves customer acme only",
      },
    });
    const safe = (error as { safeMessage: string }).safeMessage;
    expect(safe).toBe("This action is not permitted.");
    expect(safe).not.toMatch(/support-customer|acme|kid|at .*\.ts/);
  });

  it("C29: the seed rule denies when any one condition flips (agent, tool, customer, hours, read)", async () => {
    const { gate, token, clock } = await makeGate();
    const allowed = { tool: crmLookup, arguments: { customerId: "acme" } };
    await expect(
      gate.invoke({ ...allowed, credential: await token(SUPPORT) }, async () => "ran"),
    ).resolves.toBe("ran");
    await expectCode(
      gate.invoke({ ...allowed, credential: await token(RESEARCH) }, async () => "ran"),
      "access_denied",
    );
    await expectCode(
      gate.invoke(
        {
          ...allowed,
          tool: { ...crmLookup, name: "crm_export" },
          credential: await token(SUPPORT),
        },
        async () => "ran",
      ),
      "access_denied",
    );
    await expectCode(
      gate.invoke(
        { ...allowed, arguments: { customerId: "globex" }, credential: await token(SUPPORT) },
        async () => "ran",
      ),
      "access_denied",
    );
    await expectCode(
      gate.invoke(
        { ...allowed, tool: { ...crmLookup, action: "write" }, credential: await token(SUPPORT) },
        async () => "ran",
      ),
      "access_denied",
    );
    clock.set("2026-01-05T16:30:00.000Z"); // 17:30 in Berlin
    await expectCode(
      gate.invoke({ ...allowed, credential: await token(SUPPORT) }, async () => "ran"),
      "access_denied",
    );
  });

  it("C30: the subject comes from the verified token and registry only; arguments and integrator context cannot change it", async () => {
    const seen: unknown[] = [];
    const policy = new FunctionPolicyClient((request) => {
      seen.push(request);
      return allow("ok");
    });
    const { gate, token } = await makeGate({ policy });
    await gate.invoke(
      {
        tool: { name: "echo", schema: undefined },
        arguments: { subject: { id: OPS }, agent: OPS, owner: "mallory", scopes: ["admin"] },
        context: { subject: { id: OPS }, time: { hour: 3 }, resources: { customer: "acme" } },
        credential: await token(SUPPORT, ["crm:read"]),
      },
      async () => "ran",
    );
    const request = seen[0] as {
      subject: { id: string; properties: { owner: string; scopes: string[] } };
      context: { time: { hour: number }; resources: object; subject: unknown };
    };
    expect(request.subject.id).toBe(SUPPORT);
    expect(request.subject.properties.owner).toBe("alice@acme.example");
    expect(request.subject.properties.scopes).toEqual(["crm:read"]);
    expect(request.context.time.hour).toBe(10);
    expect(request.context.resources).toEqual({});
  });

  it("C31: argument conditions see validated numbers (amount < 500)", async () => {
    const { gate, token } = await makeGate();
    const credential = await token(OPS);
    await expect(
      gate.invoke(
        {
          tool: { ...refund, action: "read" },
          arguments: { customerId: "acme", amount: 120 },
          credential,
        },
        async () => "refunded",
      ),
    ).resolves.toBe("refunded");
    await expectCode(
      gate.invoke(
        {
          tool: { ...refund, action: "read" },
          arguments: { customerId: "acme", amount: 900 },
          credential,
        },
        async () => "refunded",
      ),
      "access_denied",
    );
    await expectCode(
      gate.invoke(
        {
          tool: { ...refund, action: "read" },
          arguments: { customerId: "acme", amount: "120" },
          credential,
        },
        async () => "refunded",
      ),
      "invalid_arguments",
    );
  });

  it("G52: arguments failing the schema are rejected before policy, as invalid_arguments", async () => {
    let decided = 0;
    const policy = new FunctionPolicyClient(() => {
      decided++;
      return allow("ok");
    });
    const { gate, token, events } = await makeGate({ policy });
    const tool = counter();
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: 42 }, credential: await token(SUPPORT) },
        tool.run,
      ),
      "invalid_arguments",
    );
    expect(decided).toBe(0);
    expect(tool.calls).toHaveLength(0);
    expect(events()[0]?.decision).toMatchObject({ allowed: false, code: "invalid_arguments" });
  });

  it("G53: __proto__, constructor and prototype members in arguments are refused and pollute nothing", async () => {
    const { gate, token } = await makeGate({ policy: new FunctionPolicyClient(() => allow("ok")) });
    const credential = await token(SUPPORT);
    for (const text of [
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
    ]) {
      await expectCode(
        gate.invoke(
          { tool: { name: "echo" }, arguments: JSON.parse(text), credential },
          async () => "ran",
        ),
        "invalid_arguments",
      );
    }
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it("G54: megabytes of arguments, or 10,000 levels of nesting, are refused quickly without a crash", async () => {
    const { gate, token } = await makeGate({ policy: new FunctionPolicyClient(() => allow("ok")) });
    const credential = await token(SUPPORT);
    let deep: unknown = "x";
    for (let level = 0; level < 10_000; level++) deep = { deep };
    const huge = { text: "x".repeat(3 * 1024 * 1024) };
    const wide = { items: Array.from({ length: 200_000 }, (_, index) => index) };
    for (const args of [deep, huge, wide]) {
      await expectCode(
        gate.invoke({ tool: { name: "echo" }, arguments: args, credential }, async () => "ran"),
        "invalid_arguments",
      );
    }
  });

  it("L87: a sparse array of length 2^32−1, a 5,000,000-slot sparse array and a 2,000,000-item array are refused as invalid_arguments", async () => {
    const { gate, token, events } = await makeGate({
      policy: new FunctionPolicyClient(() => allow("ok")),
    });
    const credential = await token(SUPPORT);
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    const fiveMillion: unknown[] = [];
    fiveMillion[4_999_999] = "x";
    const dense = new Array<number>(2_000_000).fill(1);
    let ran = 0;
    for (const items of [sparse, fiveMillion, dense]) {
      await expectCode(
        gate.invoke({ tool: { name: "echo" }, arguments: { items }, credential }, async () => {
          ran++;
        }),
        "invalid_arguments",
      );
    }
    expect(ran).toBe(0);
    expect(events().map((event) => event.decision?.code)).toEqual([
      "invalid_arguments",
      "invalid_arguments",
      "invalid_arguments",
    ]);
  });

  it("L88: a disguised tool or server name never reaches policy: drop_db\\u200b is refused, not matched against drop_db's rules", async () => {
    const seen: string[] = [];
    const policy = new FunctionPolicyClient((request) => {
      seen.push(request.resource.id);
      return request.action.properties.tool === "drop_db" ? deny("no drops") : allow("ok");
    });
    const { gate, token, events } = await makeGate({ policy });
    const credential = await token(SUPPORT);
    let ran = 0;
    const run = async () => {
      ran++;
    };
    for (const tool of [
      { name: "drop_db\u200b" },
      { name: "DROP_DB" },
      { name: "drop_db " },
      { name: "x".repeat(10_000) },
      { name: "drop_db", server: "CRM" },
    ]) {
      await expectCode(gate.invoke({ tool, arguments: {}, credential }, run), "invalid_arguments");
      expect((await gate.check({ tool, credential })).code).toBe("invalid_arguments");
    }
    await expectCode(
      gate.invoke({ tool: { name: "drop_db" }, arguments: {}, credential }, run),
      "access_denied",
    );
    expect(ran).toBe(0);
    expect(seen).toEqual(["drop_db"]);
    const names = events().map((event) => event.tool?.name);
    expect(names[0]).toBe("drop_db\\u200b");
    expect(names[6]?.length).toBe(256);
    expect(events()[8]?.tool).toEqual({ name: "drop_db", server: "CRM" });
  });

  it("B19: a delegated token signed with the authority's own key but claiming scopes its delegator never held: policy sees only what every agent in the chain may hold", async () => {
    const seen: Array<readonly string[]> = [];
    const policy = new FunctionPolicyClient((request) => {
      seen.push(request.subject.properties.scopes);
      return allow("ok");
    });
    const { gate, clock, stored } = await makeGate({ policy });
    // research may hold crm:read and web:search; writer crm:read and docs:write.
    const forged = signRaw(
      header(stored.kid),
      claims(clock.now(), {
        sub: RESEARCH,
        act: { sub: WRITER },
        scope: "crm:read docs:write web:search",
      }),
      stored,
    );
    await gate.invoke(
      { tool: { name: "echo" }, arguments: {}, credential: forged },
      async () => "ran",
    );
    expect(seen).toEqual([["crm:read"]]);
  });

  it("I64: the tool receives exactly the arguments the policy saw, frozen; later changes by the caller change nothing", async () => {
    const original: { customerId: string; fields: string[] } = {
      customerId: "acme",
      fields: ["name"],
    };
    const policy: PolicyClient = {
      async evaluate(request) {
        original.customerId = "globex"; // the caller's object changes while the decision is pending
        original.fields.push("ssn");
        return request.context.resources.customer === "acme" ? allow("acme ok") : allow("other");
      },
    };
    const { gate, token } = await makeGate({ policy });
    const received = await gate.invoke(
      { tool: crmLookup, arguments: original, credential: await token(SUPPORT) },
      async (args) => args,
    );
    expect(received).toEqual({ customerId: "acme", fields: ["name"] });
    expect(Object.isFrozen(received)).toBe(true);
    expect(Object.isFrozen(received.fields)).toBe(true);
  });

  it("C28: a policy client that throws, times out or answers malformed denies with policy_unavailable", async () => {
    const failing: PolicyClient[] = [
      {
        evaluate: async () => {
          throw new TypeError("engine exploded");
        },
      },
      { evaluate: () => new Promise(() => {}) },
      { evaluate: async () => ({ allowed: "yes" }) as never },
      { evaluate: async () => null as never },
      { evaluate: async () => ({ allowed: true }) as never },
    ];
    for (const policy of failing) {
      const { gate, token, events } = await makeGate({ policy, decisionTimeoutMs: 30 });
      const tool = counter();
      await expectCode(
        gate.invoke(
          { tool: crmLookup, arguments: { customerId: "acme" }, credential: await token(SUPPORT) },
          tool.run,
        ),
        "policy_unavailable",
      );
      expect(tool.calls).toHaveLength(0);
      expect(events()[0]?.decision?.code).toBe("policy_unavailable");
    }
  });

  it("I63: an allow that arrives after the decision timeout never runs the tool", async () => {
    const policy: PolicyClient = {
      evaluate: () => new Promise((resolve) => setTimeout(() => resolve(allow("late")), 60)),
    };
    const { gate, token } = await makeGate({ policy, decisionTimeoutMs: 20 });
    const tool = counter();
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: await token(SUPPORT) },
        tool.run,
      ),
      "policy_unavailable",
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(tool.calls).toHaveLength(0);
  });

  it("denies an allow that carries an obligation the gate does not understand", async () => {
    const policy = new FunctionPolicyClient(() => allow("ok", { obligations: ["notify:ciso"] }));
    const { gate, token } = await makeGate({ policy });
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: await token(SUPPORT) },
        async () => "ran",
      ),
      "access_denied",
    );
  });

  it("E43: when the audit sink fails, the call is denied with audit_unavailable and the tool does not run", async () => {
    const audit = {
      write: async () => {
        throw new Error("disk full");
      },
      flush: async () => {},
      close: async () => {},
    };
    const { gate, token } = await makeGate({ audit, onAuditError: () => {} });
    const tool = counter();
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: await token(SUPPORT) },
        tool.run,
      ),
      "audit_unavailable",
    );
    expect(tool.calls).toHaveLength(0);
  });

  it("I69: a bad credential is audited by fingerprint, never by its raw value", async () => {
    const { gate, events, token } = await makeGate();
    const real = await token(SUPPORT);
    const forged = `${real.slice(0, -4)}AAAA`;
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: forged },
        async () => "ran",
      ),
      "token_invalid",
    );
    const text = JSON.stringify(events());
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(events()[0]?.details?.tokenFingerprint).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("Gate: revocation and supervision (D37, D38, B22)", () => {
  it("B22/D37: a suspended or unregistered agent anywhere in the chain is denied everything", async () => {
    const { gate, token, registry, clock, authority } = await makeGate({
      policy: new FunctionPolicyClient(() => allow("ok")),
    });
    const parent = await authority.issueToken(RESEARCH, {
      audience: AUDIENCE,
      principal: USER,
      scope: ["crm:read"],
    });
    const delegated = await authority.delegate(parent.token, { to: WRITER, audience: AUDIENCE });
    await expect(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: delegated.token },
        async () => "ran",
      ),
    ).resolves.toBe("ran");
    await registry.put(
      defineAgent(
        { id: RESEARCH, owner: "bob", supervision: "suspended", maxScopes: ["crm:read"] },
        clock,
      ),
    );
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: delegated.token },
        async () => "ran",
      ),
      "agent_suspended",
    );
    const supportToken = await token(SUPPORT);
    await registry.remove(SUPPORT);
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: supportToken },
        async () => "ran",
      ),
      "agent_unknown",
    );
  });

  it("D34 at the gate: revoking the agent denies its next call", async () => {
    const { gate, token, revocations } = await makeGate();
    const credential = await token(SUPPORT);
    await gate.invoke(
      { tool: crmLookup, arguments: { customerId: "acme" }, credential },
      async () => "ran",
    );
    await revocations.revoke("agent", SUPPORT);
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential },
        async () => "ran",
      ),
      "agent_revoked",
    );
  });

  it("D37: a supervised agent's write waits for approval; its read does not", async () => {
    const asked: string[] = [];
    const approvals = new CallbackApprovalProvider((request) => {
      asked.push(`${request.reason}:${request.tool}`);
      return { approved: true, approver: "dana@acme.example" };
    });
    const { gate, token, events } = await makeGate({ approvals });
    const credential = await token(OPS);
    await gate.invoke(
      { tool: crmLookup, arguments: { customerId: "acme" }, credential },
      async () => "read",
    );
    expect(asked).toEqual([]);
    await expect(
      gate.invoke(
        { tool: crmUpdate, arguments: { customerId: "acme", note: "vip" }, credential },
        async () => "written",
      ),
    ).resolves.toBe("written");
    expect(asked).toEqual(["supervision:crm_update"]);
    const approval = events().find((event) => event.type === "approval");
    expect(approval).toMatchObject({
      approval: { approved: true, approver: "dana@acme.example" },
      details: { approvalReason: "supervision" },
    });
  });

  it("D38: approver 'no', approver error and approval timeout all deny with approval_denied, audited", async () => {
    const answers = [
      () => ({ approved: false, approver: "dana@acme.example", reason: "not today" }),
      () => {
        throw new Error("pager down");
      },
      () => new Promise<never>(() => {}),
    ];
    for (const answer of answers) {
      const approvals = new CallbackApprovalProvider(answer as never);
      const { gate, token, events } = await makeGate({ approvals, approvalTimeoutMs: 30 });
      const tool = counter();
      await expectCode(
        gate.invoke(
          {
            tool: crmUpdate,
            arguments: { customerId: "acme", note: "x" },
            credential: await token(OPS),
          },
          tool.run,
        ),
        "approval_denied",
      );
      expect(tool.calls).toHaveLength(0);
      expect(events().map((event) => event.type)).toEqual(["approval", "decision"]);
      expect(events()[0]?.approval?.approved).toBe(false);
      expect(events()[1]?.decision).toMatchObject({ allowed: false, code: "approval_denied" });
    }
  });

  it("an approver that suspends the call (out-of-band human answer) gets it rethrown: nothing runs, nothing recorded", async () => {
    const pause = new Error("paused");
    const approvals = new CallbackApprovalProvider(() => {
      throw new ApprovalSuspended(pause);
    });
    const { gate, token, events } = await makeGate({ approvals });
    const tool = counter();
    const error = await gate
      .invoke(
        {
          tool: crmUpdate,
          arguments: { customerId: "acme", note: "x" },
          credential: await token(OPS),
        },
        tool.run,
      )
      .catch((caught: unknown) => caught);
    expect(isApprovalSuspended(error) && error.cause).toBe(pause);
    expect(tool.calls).toHaveLength(0);
    expect(events()).toHaveLength(0);
  });

  it("D37: a policy obligation require-approval asks even an autonomous agent; no provider denies", async () => {
    const policy = new FunctionPolicyClient(() =>
      allow("ok", { obligations: ["require-approval"] }),
    );
    const { gate, token } = await makeGate({ policy });
    await expectCode(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: await token(SUPPORT) },
        async () => "ran",
      ),
      "approval_denied",
    );
  });
});

describe("Gate + CachedPolicyClient: C33", () => {
  // A policy on the registry's labels: only agents labelled tier=gold may read.
  const byTier = () => {
    let decisions = 0;
    const inner = new FunctionPolicyClient((request) => {
      decisions++;
      return request.subject.properties.labels.tier === "gold"
        ? allow("gold reads", { policies: ["tier"] })
        : deny("not gold", { policies: ["tier"] });
    });
    return { inner, decisions: () => decisions };
  };
  const lookup = { tool: crmLookup, arguments: { customerId: "acme" } };
  const withCache = async (inner: PolicyClient) => {
    const base = await makeGate();
    const policy = new CachedPolicyClient(inner, { ttlMs: 60_000, clock: base.clock });
    const cachedGate = (registry: AgentRegistry) =>
      new Gate({
        audience: AUDIENCE,
        verifier: base.verifier,
        registry,
        policy,
        audit: base.audit,
        clock: base.clock,
      });
    return { ...base, cachedGate };
  };

  it("C33: a decision cached for an agent's record is never reused after the record changes", async () => {
    const { inner, decisions } = byTier();
    const { token, registry, clock, cachedGate } = await withCache(inner);
    const gate = cachedGate(registry);
    const gold = (tier: string) =>
      registry.put(
        defineAgent(
          { id: SUPPORT, owner: "alice@acme.example", labels: { tier }, maxScopes: ["crm:read"] },
          clock,
        ),
      );
    await gold("gold");
    const credential = await token(SUPPORT);
    await expect(gate.invoke({ ...lookup, credential }, async () => "ran")).resolves.toBe("ran");
    await expect(gate.invoke({ ...lookup, credential }, async () => "ran")).resolves.toBe("ran");
    expect(decisions()).toBe(1);
    await gold("silver");
    await expectCode(
      gate.invoke({ ...lookup, credential }, async () => "ran"),
      "access_denied",
    );
    expect(decisions()).toBe(2);
  });

  it("C33: a custom registry that changes a record in place is never served a stale decision", async () => {
    const { inner, decisions } = byTier();
    const record = {
      ...defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
      labels: { tier: "gold" } as Record<string, string>,
    };
    const registry = {
      get: async (id: string) => (id === SUPPORT ? record : undefined),
      list: async () => [record],
      put: async () => {},
      remove: async () => false,
    };
    const { token, cachedGate } = await withCache(inner);
    const gate = cachedGate(registry);
    const credential = await token(SUPPORT);
    await expect(gate.invoke({ ...lookup, credential }, async () => "ran")).resolves.toBe("ran");
    record.labels.tier = "silver";
    await expectCode(
      gate.invoke({ ...lookup, credential }, async () => "ran"),
      "access_denied",
    );
    expect(decisions()).toBe(2);
  });
});

describe("Gate: identity in nested calls", () => {
  it("J72: a tool cannot change the verified identity it runs with, for itself or for later calls", async () => {
    const { gate, token, events } = await makeGate();
    const credential = await token(SUPPORT);
    const call = { tool: crmLookup, arguments: { customerId: "acme" }, credential };
    const describe = () => {
      const agent = currentAgent();
      return `${agent.principal.id} ${agent.agent.name} ${agent.attributes.owner} ${agent.scopes.join(",")}`;
    };
    let before: string | undefined;
    const attempts = await gate.invoke(call, async () => {
      before = describe();
      const agent = currentAgent() as unknown as Record<string, Record<string, unknown>>;
      const tries: Array<() => void> = [
        () => {
          (agent.principal as Record<string, unknown>).id = OPS;
        },
        () => {
          (agent.agent as Record<string, unknown>).name = "ops";
        },
        () => {
          (agent.attributes as Record<string, unknown>).owner = "mallory";
        },
        () => {
          (agent.scopes as unknown as string[]).push("crm:write");
        },
      ];
      return tries.filter((attempt) => {
        try {
          attempt();
          return true;
        } catch {
          return false;
        }
      }).length;
    });
    expect(attempts).toBe(0);
    const after = await gate.invoke(call, async () => describe());
    expect(before).toMatch(new RegExp(`^${SUPPORT} support alice@acme.example crm:read`));
    expect(after).toBe(before);
    expect(events().at(-2)).toMatchObject({ principal: SUPPORT, agent: SUPPORT });
  });

  it("J72: concurrent calls of two agents each see their own agent through currentAgent()", async () => {
    const { gate, token } = await makeGate({ policy: new FunctionPolicyClient(() => allow("ok")) });
    const tokens = { [SUPPORT]: await token(SUPPORT), [OPS]: await token(OPS) };
    const runs = Array.from({ length: 50 }, (_, index) => {
      const agent = index % 2 === 0 ? SUPPORT : OPS;
      return gate.invoke(
        { tool: { name: "whoami" }, arguments: {}, credential: tokens[agent] as string },
        async () => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
          return [agent, currentAgent().agent.toString()];
        },
      );
    });
    for (const [expected, seen] of await Promise.all(runs)) expect(seen).toBe(expected);
  });

  it("B24/B25: gate.delegate attenuates; the downstream call's events show the whole chain, and a sub-agent cannot exceed its delegator", async () => {
    const { gate, token, events } = await makeGate();
    const parentCredential = await token(OPS, ["crm:read"]);
    const child = await gate.invoke(
      { tool: crmLookup, arguments: { customerId: "acme" }, credential: parentCredential },
      async () => gate.delegate({ to: WRITER, audience: AUDIENCE }),
    );
    expect(child.chain).toEqual([OPS, WRITER]);
    await gate.invoke(
      { tool: crmLookup, arguments: { customerId: "acme" }, credential: child.token },
      async () => "read",
    );
    const last = events()
      .filter((event) => event.type === "decision")
      .at(-1);
    expect(last).toMatchObject({ agent: WRITER, principal: OPS, chain: [OPS, WRITER] });
    // OPS held only crm:read, so the delegate cannot write even though policy would let OPS write with crm:write.
    await expectCode(
      gate.invoke(
        {
          tool: { ...crmUpdate, action: "write" },
          arguments: { customerId: "acme", note: "x" },
          credential: child.token,
        },
        async () => "ran",
      ),
      "access_denied",
    );
  });

  it("a CredentialProvider refreshes before expiry, so a long-running agent never presents an expired token", async () => {
    const { gate, authority, clock } = await makeGate();
    const credentials = CredentialProvider.forAgent(authority, SUPPORT, {
      audience: AUDIENCE,
      ttlSeconds: 300,
    });
    const first = await credentials.token();
    await gate.invoke(
      { tool: crmLookup, arguments: { customerId: "acme" }, credential: credentials },
      async () => "ran",
    );
    clock.advance(250_000);
    const second = await credentials.token();
    expect(second).not.toBe(first);
    clock.advance(100_000); // the first token has expired now
    await expect(
      gate.invoke(
        { tool: crmLookup, arguments: { customerId: "acme" }, credential: credentials },
        async () => "ran",
      ),
    ).resolves.toBe("ran");
  });
});

describe("Gate.check", () => {
  it("decides without running, writes a check event, and reports approval needs", async () => {
    const { gate, token, events } = await makeGate();
    const credential = await token(OPS);
    const read = await gate.check({ tool: crmLookup, credential });
    expect(read).toMatchObject({ allowed: true, requiresApproval: false });
    const write = await gate.check({
      tool: crmUpdate,
      arguments: { customerId: "acme", note: "x" },
      credential,
    });
    expect(write).toMatchObject({ allowed: true, requiresApproval: true });
    const denied = await gate.check({ tool: crmLookup, credential: await token(SUPPORT) });
    expect(denied).toMatchObject({ allowed: false, code: "access_denied" });
    expect(events().map((event) => event.type)).toEqual(["check", "check", "check"]);
  });
});

describe("G56: concurrency", () => {
  it("G56: 1,000 concurrent invocations through one gate are each audited exactly once", async () => {
    const { gate, token, events } = await makeGate({
      policy: new FunctionPolicyClient(() => allow("ok")),
    });
    const credential = await token(SUPPORT);
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, index) =>
        gate.invoke(
          { tool: { name: "echo" }, arguments: { index }, credential },
          async (args) => args.index,
        ),
      ),
    );
    expect(new Set(results).size).toBe(1000);
    const byInvocation = new Map<string, string[]>();
    for (const event of events()) {
      byInvocation.set(event.invocationId as string, [
        ...(byInvocation.get(event.invocationId as string) ?? []),
        event.type,
      ]);
    }
    expect(byInvocation.size).toBe(1000);
    for (const types of byInvocation.values()) expect(types).toEqual(["decision", "outcome"]);
  });
});
