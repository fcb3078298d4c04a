import { isAgentGateError } from "@agentgate/core";
import { ToolMessage } from "@langchain/core/messages";
import { DynamicStructuredTool, tool } from "@langchain/core/tools";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { SUPPORT, setup } from "../test/setup.js";
import { isProtectedTool, protectTool, protectTools } from "./protect-tool.js";

describe("protectTool", () => {
  it("keeps name, description and schema, and runs an allowed call through the gate", async () => {
    const { gate, lookup, credentials, calls, audit } = await setup();
    const protectedLookup = protectTool(lookup, { gate, credential: credentials(SUPPORT) });
    expect(protectedLookup.name).toBe(lookup.name);
    expect(protectedLookup.description).toBe(lookup.description);
    expect(protectedLookup.schema).toBe(lookup.schema);
    await expect(protectedLookup.invoke({ customerId: "acme" })).resolves.toBe(
      "customer acme: 3 open tickets",
    );
    expect(calls).toEqual(["lookup:acme"]);
    expect(audit.events.map((event) => event.type)).toEqual(["decision", "outcome"]);
    expect(audit.events[0]).toMatchObject({
      agent: SUPPORT,
      action: "read",
      decision: { allowed: true },
    });
  });

  it("a denied direct call throws the AgentGateError; a denied tool call returns an error ToolMessage", async () => {
    const { gate, lookup, credentials, calls } = await setup();
    const protectedLookup = protectTool(lookup, { gate, credential: credentials(SUPPORT) });
    const error = await protectedLookup
      .invoke({ customerId: "globex" })
      .catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("access_denied");
    const message = await protectedLookup.invoke({
      id: "call-1",
      name: "crm_lookup",
      args: { customerId: "globex" },
      type: "tool_call",
    });
    expect(ToolMessage.isInstance(message)).toBe(true);
    expect((message as ToolMessage).status).toBe("error");
    expect((message as ToolMessage).content).toContain("Only customer acme is allowed.");
    expect((message as ToolMessage).content).not.toContain("support-customer");
    expect(calls).toEqual([]);
  });

  it("F46: invoke, call, func and the raw function all go through the gate; wrapping twice is idempotent", async () => {
    const { gate, lookup, credentials, calls, audit } = await setup();
    const once = protectTool(lookup, { gate, credential: credentials(SUPPORT) });
    const twice = protectTool(once, { gate, credential: credentials(SUPPORT) });
    expect(twice).toBe(once);
    expect(isProtectedTool(once)).toBe(true);
    const asDynamic = once as DynamicStructuredTool;
    expect(asDynamic).toBeInstanceOf(DynamicStructuredTool);
    await expect(asDynamic.invoke({ customerId: "globex" })).rejects.toThrow();
    await expect(asDynamic.call({ customerId: "globex" })).rejects.toThrow();
    await expect(asDynamic.func({ customerId: "globex" }, undefined, {})).rejects.toThrow();
    expect(calls).toEqual([]);
    await twice.invoke({ customerId: "acme" });
    expect(audit.events.filter((event) => event.type === "decision")).toHaveLength(4);
    expect(audit.events.filter((event) => event.type === "outcome")).toHaveLength(1);
    // No public member leads to the unwrapped tool.
    for (const value of Object.values(once)) expect(value).not.toBe(lookup);
  });

  it("without a bound credential, takes the token from the run's context, else denies", async () => {
    const { gate, lookup, authority, calls } = await setup();
    const protectedLookup = protectTool(lookup, { gate });
    const error = await protectedLookup
      .invoke({ customerId: "acme" })
      .catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("token_invalid");
    const { token } = await authority.issueToken(SUPPORT, {
      audience: "https://tools.acme.example",
    });
    await expect(
      protectedLookup.invoke({ customerId: "acme" }, { configurable: { agentToken: token } }),
    ).resolves.toContain("acme");
    expect(calls).toEqual(["lookup:acme"]);
  });

  it("the wrapped tool body still gets its runtime (tool call id, context) and runs exactly once", async () => {
    const { gate, credentials } = await setup();
    let runs = 0;
    const withRuntime = tool(
      async ({ customerId }, runtime) => {
        runs++;
        return `${customerId}:${runtime.toolCall?.id}:${String((runtime.context as { tenant?: string } | undefined)?.tenant)}`;
      },
      {
        name: "echo",
        description: "echo",
        schema: z.object({ customerId: z.string() }),
        metadata: { agentgate: { action: "read", resources: { customer: "customerId" } } },
      },
    );
    const wrapped = protectTool(withRuntime, { gate, credential: credentials(SUPPORT) });
    const message = await wrapped.invoke(
      { id: "call-9", name: "echo", args: { customerId: "acme" }, type: "tool_call" },
      { context: { tenant: "t1" } } as never,
    );
    expect((message as ToolMessage).content).toBe("acme:call-9:t1");
    expect(runs).toBe(1);
  });

  it("protectTools applies a policy per tool name", async () => {
    const { gate, lookup, update, credentials } = await setup();
    const [protectedLookup, protectedUpdate] = protectTools([lookup, update], {
      gate,
      credential: credentials(SUPPORT),
      policies: { crm_update: { action: "write", resources: { customer: "customerId" } } },
    });
    expect(protectedLookup?.name).toBe("crm_lookup");
    const error = await protectedUpdate
      ?.invoke({ customerId: "acme", note: "x" })
      .catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("access_denied");
  });

  it("L88: a tool whose name or server is not canonical cannot be protected (invalid_configuration)", async () => {
    const { gate } = await setup();
    const make = (name: string) =>
      tool(async () => "ran", { name, description: "d", schema: z.object({}) });
    for (const name of ["drop_db\u200b", "DropDb", "drop_db ", "dr\u043ep_db", ""]) {
      expect(() => protectTool(make(name), { gate }), JSON.stringify(name)).toThrowError(
        expect.objectContaining({ code: "invalid_configuration" }),
      );
    }
    expect(() => protectTool(make("drop_db"), { gate, policy: { server: "CRM" } })).toThrowError(
      expect.objectContaining({ code: "invalid_configuration" }),
    );
    expect(isProtectedTool(protectTool(make("drop_db"), { gate }))).toBe(true);
  });
});
