import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { MemoryRevocationList } from "../identity/revocation-list.js";
import {
  CONTRACT_AGENT,
  contractRequest,
  describePolicyClientContract,
} from "../testing/contracts/index.js";
import { TestClock } from "../testing/test-clock.js";
import type { AccessRequest } from "./access-request.js";
import { AuthZenPolicyClient } from "./authzen-policy-client.js";
import { CachedPolicyClient } from "./cached-policy-client.js";
import { allow, deny } from "./decision.js";
import { FunctionPolicyClient } from "./policy-client.js";

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;
const servers: Server[] = [];

/** A real PDP on 127.0.0.1 whose behaviour each test sets. */
async function pdp(handler: Handler): Promise<string> {
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => handler(request, body, response));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

/** A well-behaved AuthZEN PDP deciding the contract rule. */
const contractPdp: Handler = (request, body, response) => {
  const decide = (evaluation: AccessRequest) =>
    evaluation.subject.id === CONTRACT_AGENT &&
    evaluation.action.name === "read" &&
    evaluation.resource.id === "contract_tool";
  response.setHeader("content-type", "application/json");
  response.setHeader("x-request-id", String(request.headers["x-request-id"]));
  const parsed = JSON.parse(body) as AccessRequest & { evaluations?: AccessRequest[] };
  if (request.url === "/access/v1/evaluations") {
    response.end(
      JSON.stringify({
        evaluations: (parsed.evaluations ?? []).map((evaluation) => ({
          decision: decide(evaluation),
        })),
      }),
    );
  } else {
    response.end(
      JSON.stringify({
        decision: decide(parsed),
        context: { reason_admin: { en: "contract rule" } },
      }),
    );
  }
};

describePolicyClientContract(
  "FunctionPolicyClient",
  async () =>
    new FunctionPolicyClient((request) =>
      request.subject.id === CONTRACT_AGENT &&
      request.action.name === "read" &&
      request.resource.id === "contract_tool"
        ? allow("ok")
        : deny("no"),
    ),
);
describePolicyClientContract(
  "AuthZenPolicyClient",
  // The contract is about answers, not speed: the 1 s production timeout would turn a loaded
  // machine's slow first connection into policy_unavailable.
  async () => new AuthZenPolicyClient({ baseUrl: await pdp(contractPdp), timeoutMs: 30_000 }),
);

async function expectUnavailable(client: AuthZenPolicyClient): Promise<void> {
  const error = await client.evaluate(contractRequest()).catch((caught: unknown) => caught);
  expect(isAgentGateError(error) && error.code, String(error)).toBe("policy_unavailable");
}

describe("AuthZenPolicyClient: C28 fails closed on every fault", () => {
  it("C28: connection refused (after one retry)", async () => {
    let attempts = 0;
    const refusing: typeof fetch = async (...args) => {
      attempts++;
      return fetch(...args);
    };
    // A port that was open a moment ago and is closed now: the connection is refused.
    const closed = await pdp(() => {});
    await Promise.all(
      servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
    );
    await expectUnavailable(new AuthZenPolicyClient({ baseUrl: closed, fetch: refusing }));
    expect(attempts).toBe(2);
  });

  it("C28: timeout", async () => {
    const url = await pdp(() => {}); // never answers
    await expectUnavailable(new AuthZenPolicyClient({ baseUrl: url, timeoutMs: 50 }));
  });

  it("C28: HTTP 500, non-JSON, and a body without a boolean decision", async () => {
    const answers: Handler[] = [
      (_, __, response) => response.writeHead(500).end('{"decision":true}'),
      (_, __, response) => response.end("<html>ok</html>"),
      (_, __, response) => response.end('{"decision":"true"}'),
      (_, __, response) => response.end('{"result":true}'),
      (_, __, response) => response.end("null"),
    ];
    for (const answer of answers)
      await expectUnavailable(new AuthZenPolicyClient({ baseUrl: await pdp(answer) }));
  });

  it("I63: an allow that arrives after the timeout never counts", async () => {
    const url = await pdp((_, __, response) =>
      setTimeout(() => response.end('{"decision":true}'), 150),
    );
    await expectUnavailable(new AuthZenPolicyClient({ baseUrl: url, timeoutMs: 50 }));
  });

  it("a deny is HTTP 200 with decision false; reasons and obligations are read from the context", async () => {
    const url = await pdp((_, __, response) =>
      response.end(
        JSON.stringify({
          decision: false,
          context: { reason_admin: { en: "rule 7" }, reason_user: { en: "Not for you." } },
        }),
      ),
    );
    const decision = await new AuthZenPolicyClient({ baseUrl: url }).evaluate(contractRequest());
    expect(decision).toMatchObject({
      allowed: false,
      reason: "rule 7",
      safeReason: "Not for you.",
    });
  });

  it("sends the bearer token and a request id, and maps the subject per COAZ-MCP when asked", async () => {
    let seen: { headers: IncomingMessage["headers"]; body: Record<string, unknown> } | undefined;
    const url = await pdp((request, body, response) => {
      seen = { headers: request.headers, body: JSON.parse(body) };
      response.end('{"decision":true}');
    });
    await new AuthZenPolicyClient({
      baseUrl: url,
      token: "pdp-secret",
      mapping: "coaz-mcp",
    }).evaluate(contractRequest());
    expect(seen?.headers.authorization).toBe("Bearer pdp-secret");
    expect(seen?.headers["x-request-id"]).toMatch(/^[0-9a-f]{16}$/);
    expect(seen?.body.subject).toEqual({ type: "agent", id: CONTRACT_AGENT });
    expect((seen?.body.context as { agent?: { id: string } } | undefined)?.agent?.id).toBe(
      CONTRACT_AGENT,
    );
  });

  it("discovers endpoints, and refuses metadata that names another PDP (mix-up)", async () => {
    const base = await pdp((request, body, response) => {
      if (request.url === "/.well-known/authzen-configuration") {
        response.end(
          JSON.stringify({
            policy_decision_point: base,
            access_evaluation_endpoint: `${base}/custom/eval`,
          }),
        );
      } else if (request.url === "/custom/eval") {
        response.end('{"decision":true}');
      } else {
        contractPdp(request, body, response);
      }
    });
    expect(
      (
        await (
          await AuthZenPolicyClient.discover(base)
        ).evaluate(contractRequest({ action: "write" }))
      ).allowed,
    ).toBe(true);
    const evil = await pdp((_, __, response) =>
      response.end(
        JSON.stringify({
          policy_decision_point: "https://evil.example",
          access_evaluation_endpoint: "https://evil.example/e",
        }),
      ),
    );
    const error = await AuthZenPolicyClient.discover(evil).catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("policy_unavailable");
  });
});

describe("CachedPolicyClient: C33", () => {
  function counting() {
    let calls = 0;
    let version = 1;
    const inner = {
      evaluate: async () => {
        calls++;
        return allow("ok");
      },
      version: () => version,
    };
    return { inner, calls: () => calls, bump: () => version++ };
  }

  it("C33: reuses a decision, but never past its TTL, a policy change or a revocation", async () => {
    const clock = new TestClock("2026-01-05T09:00:00Z");
    const revocations = new MemoryRevocationList({ clock });
    const { inner, calls, bump } = counting();
    const cached = new CachedPolicyClient(inner, { ttlMs: 1000, revocations, clock });
    const request = contractRequest();
    await cached.evaluate(request);
    await cached.evaluate(request);
    expect(calls()).toBe(1);
    clock.advance(1001);
    await cached.evaluate(request);
    expect(calls()).toBe(2);
    bump();
    await cached.evaluate(request);
    expect(calls()).toBe(3);
    await revocations.revoke("agent", "spiffe://acme.example/agent/someone");
    await cached.evaluate(request);
    expect(calls()).toBe(4);
    await cached.evaluate(request);
    expect(calls()).toBe(4);
  });

  it("C33: never reuses a decision across a time-of-day boundary a policy reads", async () => {
    const { inner, calls } = counting();
    const cached = new CachedPolicyClient(inner, { ttlMs: 60_000 });
    const { accessTime } = await import("./request-mapping.js");
    const at = (iso: string) => ({
      ...contractRequest(),
      context: { ...contractRequest().context, time: accessTime(Date.parse(iso), "Europe/Berlin") },
    });
    await cached.evaluate(at("2026-01-05T15:59:30Z"));
    await cached.evaluate(at("2026-01-05T15:59:50Z"));
    expect(calls()).toBe(1);
    await cached.evaluate(at("2026-01-05T16:00:05Z")); // 17:00 in Berlin
    expect(calls()).toBe(2);
  });

  it("never remembers a failure to decide", async () => {
    let fail = true;
    const cached = new CachedPolicyClient({
      evaluate: async () => {
        if (fail) throw new Error("down");
        return allow("ok");
      },
    });
    await expect(cached.evaluate(contractRequest())).rejects.toThrow();
    fail = false;
    await expect(cached.evaluate(contractRequest())).resolves.toMatchObject({ allowed: true });
  });
});
