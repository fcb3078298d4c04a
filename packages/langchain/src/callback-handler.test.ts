import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { AIMessage, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createAgent } from "langchain";
import { describe, expect, it } from "vitest";
import { SUPPORT, setup } from "../test/setup.js";
import { AgentGateCallbackHandler } from "./callback-handler.js";

const toolMessages = (messages: BaseMessage[]) =>
  messages.filter((message): message is ToolMessage => ToolMessage.isInstance(message));
const script = () =>
  fakeModel()
    .respondWithTools([{ name: "crm_lookup", args: { customerId: "acme" }, id: "c1" }])
    .respondWithTools([{ name: "crm_lookup", args: { customerId: "globex" }, id: "c2" }])
    .respond(new AIMessage("done"));

describe("AgentGateCallbackHandler", () => {
  it("observe: audits every tool start as a check (would-deny included) and every end as an outcome, blocking nothing", async () => {
    const { gate, lookup, calls, credentials, audit } = await setup();
    const handler = new AgentGateCallbackHandler({
      gate,
      credential: credentials(SUPPORT),
      tools: { crm_lookup: { action: "read", resources: { customer: "customerId" } } },
    });
    const agent = createAgent({ model: script(), tools: [lookup] });
    await agent.invoke({ messages: [{ role: "user", content: "go" }] }, { callbacks: [handler] });
    await awaitAllCallbacks();
    expect(calls).toEqual(["lookup:acme", "lookup:globex"]);
    const summary = audit.events.map(
      (event) => `${event.type}:${event.decision?.allowed ?? event.outcome?.status}`,
    );
    expect(summary).toEqual([
      "check:true",
      "outcome:succeeded",
      "check:false",
      "outcome:succeeded",
    ]);
    expect(audit.events[2]?.decision?.code).toBe("access_denied");
    expect(audit.events[1]?.invocationId).toBe(audit.events[0]?.invocationId);
  });

  it("enforce: a denied call throws before the tool body runs; the agent sees an error", async () => {
    const { gate, lookup, calls, credentials } = await setup();
    const handler = new AgentGateCallbackHandler({
      gate,
      credential: credentials(SUPPORT),
      mode: "enforce",
      tools: { crm_lookup: { action: "read", resources: { customer: "customerId" } } },
    });
    const agent = createAgent({ model: script(), tools: [lookup] });
    const result = await agent.invoke(
      { messages: [{ role: "user", content: "go" }] },
      { callbacks: [handler] },
    );
    expect(calls).toEqual(["lookup:acme"]);
    const messages = toolMessages(result.messages);
    // The model is told the call was denied. LangChain 1.5 marks such a message status "error";
    // earlier 1.x releases (inside our peer range) send the same text without a status.
    expect(messages[1]?.status).not.toBe("success");
    expect(String(messages[1]?.content)).toContain("denied by AgentGate");
    expect(handler.pendingRuns).toBe(0);
  });
});
