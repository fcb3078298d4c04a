import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { VerifiedAgent } from "../identity/agent-token.js";
import type { AccessRequest } from "../policy/access-request.js";
import type { Decision } from "../policy/decision.js";
import { baseEvent, decisionBlock, outcomeEvent, tokenFingerprint } from "./gate-events.js";
import type { ToolInvocation } from "./tool-invocation.js";

// Each test pins down a field of the gate's audit events that a mutation of gate-events.ts
// changed without any other test noticing (MUTATION.md).

const TIME = Date.UTC(2026, 0, 2, 3, 4, 5, 6);

const agent = {
  agent: { toString: () => "agent:acme/bot" },
  principal: { id: "user:alice" },
  chain: ["agent:acme/bot", "user:alice"],
  tokenId: "tok-1",
  scopes: ["crm:read"],
} as unknown as VerifiedAgent;

const request = {
  action: { name: "read" },
  resource: { type: "Customer", id: "acme" },
} as unknown as AccessRequest;

function invocation(extra: Partial<ToolInvocation> = {}): ToolInvocation {
  return {
    tool: { name: "crm_lookup", action: "read" },
    arguments: {},
    credential: undefined,
    ...extra,
  } as ToolInvocation;
}

describe("baseEvent", () => {
  it("holds only what is known: no agent, request, arguments, trace or details when there are none", () => {
    expect(
      baseEvent("decision", "e1", TIME, { invocationId: "i1", invocation: invocation() }),
    ).toEqual({
      v: 1,
      id: "e1",
      type: "decision",
      time: "2026-01-02T03:04:05.006Z",
      invocationId: "i1",
      tool: { name: "crm_lookup" },
    });
  });

  it("copies the agent, owner, request, arguments, trace and details, each on its own", () => {
    const chain = ["agent:acme/bot", "user:alice"];
    const scopes = ["crm:read"];
    const properties = { tier: "gold" };
    const event = baseEvent("decision", "e2", TIME, {
      invocationId: "i2",
      invocation: invocation({
        tool: { name: "crm_lookup", action: "read", server: "crm" },
        metadata: {
          framework: "langchain",
          toolCallId: "c1",
          runId: "r1",
          traceId: "t1",
          spanId: "s1",
        },
      } as Partial<ToolInvocation>),
      agent: {
        ...agent,
        chain,
        scopes,
        certificate: { serial: "01", fingerprint: "ab" },
      } as unknown as VerifiedAgent,
      owner: "team-a",
      request: {
        ...request,
        resource: { type: "Customer", id: "acme", properties },
      } as AccessRequest,
      arguments: { customerId: "acme" },
      tokenFingerprint: "f00d",
    });
    expect(event).toEqual({
      v: 1,
      id: "e2",
      type: "decision",
      time: "2026-01-02T03:04:05.006Z",
      invocationId: "i2",
      agent: "agent:acme/bot",
      principal: "user:alice",
      chain,
      tokenId: "tok-1",
      scopes,
      owner: "team-a",
      tool: { name: "crm_lookup", server: "crm" },
      action: "read",
      resource: { type: "Customer", id: "acme", properties: { tier: "gold" } },
      arguments: { customerId: "acme" },
      trace: { traceId: "t1", spanId: "s1" },
      details: {
        framework: "langchain",
        toolCallId: "c1",
        runId: "r1",
        tokenFingerprint: "f00d",
        certificate: { serial: "01", fingerprint: "ab" },
      },
    });
    // Copies, never the caller's own arrays and objects.
    expect(event.chain).not.toBe(chain);
    expect(event.scopes).not.toBe(scopes);
    expect(event.resource?.properties).not.toBe(properties);
  });

  it("a trace with only a trace id or only a span id keeps just that one; each detail alone is kept", () => {
    const only = (metadata: NonNullable<ToolInvocation["metadata"]>) =>
      baseEvent("decision", "e", TIME, { invocationId: "i", invocation: invocation({ metadata }) });
    expect(only({ traceId: "t" }).trace).toEqual({ traceId: "t" });
    expect(only({ spanId: "s" }).trace).toEqual({ spanId: "s" });
    expect(only({ framework: "f" })).toMatchObject({ details: { framework: "f" } });
    expect(only({ framework: "f" }).trace).toBeUndefined();
    expect(only({ toolCallId: "c" }).details).toEqual({ toolCallId: "c" });
    expect(only({ runId: "r" }).details).toEqual({ runId: "r" });
  });

  it("L88: a disguised tool or server name is written escaped and cut at 256 characters", () => {
    const tool = (name: unknown, server?: unknown) =>
      baseEvent("decision", "e", TIME, {
        invocationId: "i",
        invocation: invocation({
          tool: { name, server, action: "read" },
        } as Partial<ToolInvocation>),
      }).tool;
    expect(tool("drop_db\u200b")).toEqual({ name: "drop_db\\u200b" });
    expect(tool("a\\b")).toEqual({ name: "a\\u005cb" });
    expect(tool("\u200b\u200b")).toEqual({ name: "\\u200b\\u200b" });
    expect(tool("")).toEqual({ name: "" });
    expect(tool("tab\there\x7f~ ")).toEqual({ name: "tab\\u0009here\\u007f~ " });
    expect(tool("ok", "srv\u0000")).toEqual({ name: "ok", server: "srv\\u0000" });
    expect(tool(42)).toEqual({ name: "42" });
    expect(tool("x".repeat(256))).toEqual({ name: "x".repeat(256) });
    expect(tool("x".repeat(257))?.name).toBe("x".repeat(256));
    expect(tool(`${"x".repeat(300)}\u200b`)?.name).toBe("x".repeat(256));
    expect(tool(`${"x".repeat(254)}\u200b`)?.name).toBe(`${"x".repeat(254)}\\u`);
  });
});

describe("outcomeEvent and decisionBlock", () => {
  it("an outcome names the agent and the tool only", () => {
    const outcome = { status: "ok" } as never;
    expect(
      outcomeEvent("o1", TIME, { invocationId: "i", invocation: invocation(), agent }, outcome),
    ).toEqual({
      v: 1,
      id: "o1",
      type: "outcome",
      time: "2026-01-02T03:04:05.006Z",
      invocationId: "i",
      agent: "agent:acme/bot",
      tool: { name: "crm_lookup" },
      outcome,
    });
    expect(
      outcomeEvent("o2", TIME, { invocationId: "i", invocation: invocation() }, outcome).agent,
    ).toBeUndefined();
  });

  it("a decision block copies policies and obligations, keeps the code, and cuts the reason at 2,048", () => {
    const decision = {
      allowed: true,
      policies: ["p1"],
      reason: "r",
      safeReason: "s",
      obligations: [{ kind: "redact", path: "x" }],
    } as unknown as Decision;
    const block = decisionBlock(decision, true, "why", "policy_denied");
    expect(block).toEqual({
      allowed: true,
      policies: ["p1"],
      reason: "why",
      code: "policy_denied",
      obligations: [{ kind: "redact", path: "x" }],
    });
    expect(block.policies).not.toBe(decision.policies);
    expect(block.obligations).not.toBe(decision.obligations);
    expect(decisionBlock(undefined, false, "no")).toEqual({
      allowed: false,
      policies: [],
      reason: "no",
    });
    expect(decisionBlock({ ...decision, obligations: [] }, true, "y")).toEqual({
      allowed: true,
      policies: ["p1"],
      reason: "y",
    });
    expect(decisionBlock(undefined, false, "r".repeat(2048)).reason).toHaveLength(2048);
    expect(decisionBlock(undefined, false, "r".repeat(2049)).reason).toHaveLength(2048);
  });

  it("I69: a token's fingerprint is the first 8 bytes of its SHA-256, in hex", async () => {
    const expected = createHash("sha256").update("a-token").digest("hex").slice(0, 16);
    expect(await tokenFingerprint("a-token")).toBe(expected);
    expect(await tokenFingerprint("\u0000")).toBe(
      createHash("sha256").update("\u0000").digest("hex").slice(0, 16),
    );
  });
});
