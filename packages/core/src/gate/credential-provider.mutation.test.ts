import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import type { VerifiedAgent } from "../identity/agent-token.js";
import { TestClock } from "../testing/test-clock.js";
import { currentAgent, currentInvocation, runWithInvocation } from "./agent-context.js";
import { ApprovalSuspended, isApprovalSuspended } from "./approval.js";
import { isCertificateCredential } from "./certificate-credential.js";
import { CredentialProvider } from "./credential-provider.js";

// Each test pins down a behaviour of the gate's small helpers that a mutation changed without
// any other test noticing (MUTATION.md).

describe("CredentialProvider, exactly", () => {
  function provider(lifetimeSeconds: number, refreshBeforeSeconds?: number) {
    const clock = new TestClock();
    let issued = 0;
    const credentials = new CredentialProvider({
      issue: async () => {
        issued++;
        return { token: `t${issued}`, expiresAt: clock.now() / 1000 + lifetimeSeconds };
      },
      clock,
      ...(refreshBeforeSeconds === undefined ? {} : { refreshBeforeSeconds }),
    });
    return { clock, credentials, issued: () => issued };
  }

  it("keeps a token until refreshBeforeSeconds (default 60) before it expires, then gets a new one", async () => {
    const { clock, credentials, issued } = provider(600);
    expect(credentials.toJSON()).toEqual({ expiresAt: undefined });
    expect(await credentials.token()).toBe("t1");
    expect(credentials.toJSON().expiresAt).toBe(clock.now() / 1000 + 600);
    clock.advance(539_999);
    expect(await credentials.token()).toBe("t1");
    clock.advance(1);
    expect(await credentials.token()).toBe("t2");
    expect(issued()).toBe(2);
  });

  it("a short token is refreshed at two thirds of its life; refreshBeforeSeconds is honoured", async () => {
    const short = provider(30);
    expect(await short.credentials.token()).toBe("t1");
    short.clock.advance(19_999);
    expect(await short.credentials.token()).toBe("t1");
    short.clock.advance(1);
    expect(await short.credentials.token()).toBe("t2");
    const custom = provider(600, 100);
    expect(await custom.credentials.token()).toBe("t1");
    custom.clock.advance(499_999);
    expect(await custom.credentials.token()).toBe("t1");
    custom.clock.advance(1);
    expect(await custom.credentials.token()).toBe("t2");
  });

  it("concurrent callers share one issue; invalidate forces the next", async () => {
    const { credentials, issued } = provider(600);
    expect(await Promise.all([credentials.token(), credentials.token()])).toEqual(["t1", "t1"]);
    expect(issued()).toBe(1);
    credentials.invalidate();
    expect(await credentials.token()).toBe("t2");
    // After a refresh has settled, the next refresh issues again (nothing pending stays).
    credentials.invalidate();
    expect(await credentials.token()).toBe("t3");
  });

  it("an issuer that returns no token is token_invalid, and a later good one is used", async () => {
    let answer: unknown = "";
    const credentials = new CredentialProvider({
      issue: async () => ({ token: answer as string, expiresAt: Date.now() / 1000 + 600 }),
    });
    await expectCode(credentials.token(), "token_invalid");
    answer = 42;
    await expectCode(credentials.token(), "token_invalid");
    answer = "ok";
    expect(await credentials.token()).toBe("ok");
  });
});

describe("type guards", () => {
  it("only an ApprovalSuspended is a suspended approval", () => {
    const suspended = new ApprovalSuspended("why");
    expect(isApprovalSuspended(suspended)).toBe(true);
    expect(suspended.name).toBe("ApprovalSuspended");
    expect(suspended.cause).toBe("why");
    expect(isApprovalSuspended(new Error("x"))).toBe(false);
    expect(isApprovalSuspended(null)).toBe(false);
    expect(isApprovalSuspended("ApprovalSuspended")).toBe(false);
  });

  it("a certificate credential is an object with a certificateChain array", () => {
    expect(isCertificateCredential({ certificateChain: [] })).toBe(true);
    expect(isCertificateCredential({ certificateChain: "x" })).toBe(false);
    expect(isCertificateCredential({})).toBe(false);
    expect(isCertificateCredential(null)).toBe(false);
    expect(isCertificateCredential("token")).toBe(false);
  });
});

describe("agent context", () => {
  it("J72: the invocation and its agent are known inside a gated run only", async () => {
    const agent = { tokenId: "t" } as unknown as VerifiedAgent;
    const context = { invocationId: "i", agent, tool: { name: "x", action: "read" as const } };
    expect(currentInvocation()).toBeUndefined();
    await expectCode(() => currentAgent(), "invalid_configuration");
    const seen = await runWithInvocation(context, async () => {
      await Promise.resolve();
      return [currentInvocation(), currentAgent()];
    });
    expect(seen).toEqual([context, agent]);
    expect(runWithInvocation(context, () => currentAgent())).toBe(agent);
    expect(currentInvocation()).toBeUndefined();
  });
});
