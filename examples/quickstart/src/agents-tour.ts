// Part 2 of the quick start: two LangChain agents, driven by a scripted model, call real tools
// through the AgentGate Gate. Every call is authenticated, decided by policy, approved when
// needed and written to the audit log before it runs.
import {
  type ApprovalRequest,
  type AuditEvent,
  type AuditSink,
  Authority,
  CallbackApprovalProvider,
  type Clock,
  CredentialProvider,
  currentAgent,
  defineAgent,
  Gate,
  MemoryAgentRegistry,
  type PolicyClient,
} from "@agentgate/core";
import { agentGateMiddleware } from "@agentgate/langchain/middleware";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, ToolMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { tool } from "@langchain/core/tools";
import { createAgent } from "langchain";
import * as z from "zod";
import type { Row } from "./table.js";

const TOOLS = "https://tools.acme.example";
const SUPPORT = "spiffe://acme.example/agent/support";
const OPS = "spiffe://acme.example/agent/ops";

/** Monday 5 January 2026, 10:00 in Berlin. */
const MONDAY_10 = Date.parse("2026-01-05T09:00:00Z");

export interface AgentsTourOptions {
  readonly policy: PolicyClient;
  readonly audit: AuditSink;
  /**
   * A real chat model (`--model openai:gpt-4.1-mini` with an API key). The scenario's requests are
   * then asked in words and the model decides which tools to call; outcomes are shown, not checked.
   */
  readonly model?: BaseChatModel;
}

/** Runs the scenario and returns one row per tool call, each checked against what must happen. */
export async function agentsTour(options: AgentsTourOptions): Promise<Row[]> {
  let now = MONDAY_10;
  const clock: Clock = { now: () => now };
  const registry = new MemoryAgentRegistry([
    defineAgent(
      {
        id: SUPPORT,
        owner: "alice@acme.example",
        purpose: "Answers customer questions",
        maxScopes: ["crm:read"],
      },
      clock,
    ),
    defineAgent(
      {
        id: OPS,
        owner: "bob@acme.example",
        supervision: "supervised",
        maxScopes: ["crm:read", "crm:write"],
      },
      clock,
    ),
  ]);
  const authority = await Authority.create({ trustDomain: "acme.example", registry, clock });

  // A human approver: yes to a VIP note, no to anything else.
  const approvals = new CallbackApprovalProvider((request: ApprovalRequest) => {
    const note = String((request.arguments as { note?: unknown }).note ?? "");
    return note === "vip"
      ? { approved: true, approver: "dana@acme.example" }
      : { approved: false, approver: "dana@acme.example", reason: "bulk changes need a ticket" };
  });

  // Every event goes to the audit log; the demo keeps the decisions too, to show in its table the
  // administrator's reason for each denial (which policy and which condition), which the model
  // never sees.
  const decisions: AuditEvent[] = [];
  const audit: AuditSink = {
    write: (event) => {
      if (event.type === "decision") decisions.push(event);
      return options.audit.write(event);
    },
    flush: () => options.audit.flush(),
    close: () => options.audit.close(),
  };

  const gate = new Gate({
    audience: TOOLS,
    verifier: authority.verifier(),
    registry,
    policy: options.policy,
    audit,
    authority,
    approvals,
    clock,
    timeZone: "Europe/Berlin",
    environment: "demo",
  });

  // Real tools; the policy mapping travels with each tool as metadata.
  const crmLookup = tool(
    async ({ customerId }) => `${customerId}: 3 open tickets, plan Enterprise`,
    {
      name: "crm_lookup",
      description: "Look up a customer",
      schema: z.object({ customerId: z.string() }),
      metadata: { agentgate: { action: "read", resources: { customer: "customerId" } } },
    },
  );
  const crmUpdate = tool(async ({ customerId, note }) => `note "${note}" added to ${customerId}`, {
    name: "crm_update",
    description: "Add a note to a customer",
    schema: z.object({ customerId: z.string(), note: z.string() }),
    metadata: { agentgate: { action: "write", resources: { customer: "customerId" } } },
  });
  const askSupport = tool(
    async ({ customerId }) => {
      // Hand work to the support agent under a delegated, attenuated token (RFC 8693 act).
      const delegated = await gate.delegate({ to: SUPPORT, audience: TOOLS, scope: ["crm:read"] });
      const answer = await gate.invoke(
        {
          tool: { name: "crm_lookup", action: "read", resources: { customer: "customerId" } },
          arguments: { customerId },
          credential: delegated.token,
        },
        async (args) =>
          `support (for ${currentAgent().principal.id.split("/").at(-1)}) read ${String(args.customerId)}`,
      );
      return answer;
    },
    {
      name: "ask_support",
      description: "Ask the support agent to look a customer up",
      schema: z.object({ customerId: z.string() }),
      metadata: { agentgate: { action: "read" } },
    },
  );

  const rows: Row[] = [];
  async function run(
    actor: string,
    calls: Array<{
      name: string;
      args: Record<string, unknown>;
      expect: string;
      label: string;
      /** The policy a denial must name (which condition failed). */
      because?: string;
    }>,
  ) {
    const credential = CredentialProvider.forAgent(authority, actor, { audience: TOOLS });
    let scripted = fakeModel();
    calls.forEach((call, index) => {
      scripted = scripted.respondWithTools([
        { name: call.name, args: call.args, id: `call-${index}` },
      ]);
    });
    scripted = scripted.respond(new AIMessage("done"));
    const live = options.model;
    const agent = createAgent({
      model: live ?? scripted,
      tools: [crmLookup, crmUpdate, askSupport],
      middleware: [agentGateMiddleware({ gate, credential })],
    });
    const request =
      live === undefined
        ? "work the queue"
        : `Please, one tool call each, in order: ${calls.map((call) => `${call.label} (tool ${call.name}, arguments ${JSON.stringify(call.args)})`).join("; ")}.`;
    const before = decisions.length;
    const result = await agent.invoke({ messages: [{ role: "user", content: request }] });
    const decisionOf = (index: number) =>
      decisions.slice(before).find((event) => event.details?.toolCallId === `call-${index}`)
        ?.decision;
    const replies = result.messages.filter((message: BaseMessage): message is ToolMessage =>
      ToolMessage.isInstance(message),
    );
    calls.forEach((call, index) => {
      const reply = replies[index];
      const text = String(reply?.content ?? "no reply");
      const code =
        reply?.status === "error" ? (/\(([a-z_]+)\)/.exec(text)?.[1] ?? "error") : "allowed";
      // A denial shows the administrator's reason from the audit log, not the model's safe text.
      const decision = decisionOf(index);
      rows.push({
        step: `${actor.split("/").at(-1)}: ${call.label}`,
        outcome: code,
        detail:
          reply?.status === "error"
            ? (decision?.reason ?? text.replace(/^AgentGate denied this call \([a-z_]+\): /, ""))
            : text,
        ok:
          live !== undefined ||
          (code === call.expect &&
            (call.because === undefined || decision?.reason.includes(call.because) === true)),
      });
    });
  }

  await run(SUPPORT, [
    {
      label: "read customer acme",
      name: "crm_lookup",
      args: { customerId: "acme" },
      expect: "allowed",
    },
    {
      label: "write a note on acme",
      name: "crm_update",
      args: { customerId: "acme", note: "hi" },
      expect: "access_denied",
      because: "support-is-read-only",
    },
    {
      label: "read customer globex",
      name: "crm_lookup",
      args: { customerId: "globex" },
      expect: "access_denied",
      because: "support-reads-acme-only",
    },
  ]);
  now = Date.parse("2026-01-05T18:00:00Z"); // 19:00 in Berlin
  await run(SUPPORT, [
    {
      label: "read acme at 19:00",
      name: "crm_lookup",
      args: { customerId: "acme" },
      expect: "access_denied",
      because: "support-in-business-hours",
    },
  ]);
  now = MONDAY_10;
  await run(OPS, [
    {
      label: "write a VIP note (approved)",
      name: "crm_update",
      args: { customerId: "acme", note: "vip" },
      expect: "allowed",
    },
    {
      label: "bulk write (refused)",
      name: "crm_update",
      args: { customerId: "acme", note: "close all" },
      expect: "approval_denied",
    },
    {
      label: "delegate a read to support",
      name: "ask_support",
      args: { customerId: "acme" },
      expect: "allowed",
    },
  ]);
  await authority.revoke("agent", SUPPORT, "demo: compromised");
  await run(SUPPORT, [
    {
      label: "read acme after revocation",
      name: "crm_lookup",
      args: { customerId: "acme" },
      expect: "agent_revoked",
    },
  ]);
  return rows;
}
