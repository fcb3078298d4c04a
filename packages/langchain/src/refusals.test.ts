import { AIMessage, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createAgent } from "langchain";
import { describe, expect, it } from "vitest";
import { SUPPORT, setup } from "../test/setup.js";
import { agentGateMiddleware } from "./middleware.js";
import { protectTool } from "./protect-tool.js";

const toolMessages = (messages: BaseMessage[]) =>
  messages.filter((message): message is ToolMessage => ToolMessage.isInstance(message));

describe("refusals before the gate are audited denials (K85)", () => {
  it("K85: protectTool without a credential: the gate denies token_invalid and records it", async () => {
    const { gate, lookup, calls, audit } = await setup();
    const protectedLookup = protectTool(lookup, { gate });
    const message = await protectedLookup.invoke({
      id: "call-1",
      name: "crm_lookup",
      args: { customerId: "acme" },
      type: "tool_call",
    });
    expect((message as ToolMessage).status).toBe("error");
    expect(calls).toEqual([]);
    expect(audit.events).toEqual([
      expect.objectContaining({
        type: "decision",
        tool: expect.objectContaining({ name: "crm_lookup" }),
        decision: expect.objectContaining({ allowed: false, code: "token_invalid" }),
      }),
    ]);
  });

  it("K85: arguments LangChain's own schema check refuses are an audited invalid_arguments denial", async () => {
    const { gate, lookup, calls, audit, credentials } = await setup();
    const protectedLookup = protectTool(lookup, { gate, credential: credentials(SUPPORT) });
    const message = await protectedLookup.invoke({
      id: "call-2",
      name: "crm_lookup",
      args: { customerId: 42, password: "hunter2" },
      type: "tool_call",
    });
    expect(ToolMessage.isInstance(message)).toBe(true);
    expect((message as ToolMessage).status).toBe("error");
    expect((message as ToolMessage).content).toContain("invalid_arguments");
    await expect(protectedLookup.invoke({ customerId: 42 })).rejects.toMatchObject({
      code: "invalid_arguments",
    });
    expect(calls).toEqual([]);
    expect(audit.events.map((event) => [event.agent, event.decision?.code])).toEqual([
      [SUPPORT, "invalid_arguments"],
      [SUPPORT, "invalid_arguments"],
    ]);
    expect(audit.events[0]?.arguments).toEqual({ customerId: 42, password: "[REDACTED]" });
  });

  it("K85: agentGateMiddleware without a credential for the run records the denial", async () => {
    const { gate, lookup, calls, audit } = await setup();
    const model = fakeModel()
      .respondWithTools([{ name: "crm_lookup", args: { customerId: "acme" }, id: "c1" }])
      .respond(new AIMessage("done"));
    const agent = createAgent({
      model,
      tools: [lookup],
      middleware: [agentGateMiddleware({ gate })],
    });
    const result = await agent.invoke({ messages: [{ role: "user", content: "check acme" }] });
    expect(toolMessages(result.messages)[0]?.content).toContain("token_invalid");
    expect(calls).toEqual([]);
    expect(audit.events.map((event) => event.decision?.code)).toEqual(["token_invalid"]);
  });
});
