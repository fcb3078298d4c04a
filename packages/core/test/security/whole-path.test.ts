import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  Authority,
  allow,
  CredentialProvider,
  defineAgent,
  FunctionPolicyClient,
  Gate,
  MemoryAuditSink,
} from "../../src/index.js";
import {
  FileAuditLog,
  FileKeyStore,
  FileRevocationList,
  JsonFileAgentRegistry,
  readAuditLog,
  verifyAuditLog,
} from "../../src/node/index.js";
import { expectCode } from "../fixtures/expect-code.js";
import { crmLookup, seedPolicy } from "../fixtures/gate.js";
import { pollUntil } from "../fixtures/poll.js";
import { tempDir } from "../fixtures/temp-dir.js";

const DIST_NODE = fileURLToPath(new URL("../../dist/node/index.js", import.meta.url));
const SUPPORT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://crm.acme.example";

describe("the whole path on embedded file stores", () => {
  it("D36 through the gate: another process revokes the agent; this gate denies its next call within 1 s", async () => {
    const dir = tempDir("agentgate-path-");
    const registry = new JsonFileAgentRegistry(join(dir, "agents.json"));
    await registry.put(
      defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
    );
    const revocations = new FileRevocationList(join(dir, "revocations.jsonl"));
    const authority = await Authority.create({
      trustDomain: "acme.example",
      registry,
      revocations,
      keyStore: new FileKeyStore(join(dir, "keys")),
    });
    const audit = new MemoryAuditSink();
    const gate = new Gate({
      audience: AUDIENCE,
      verifier: authority.verifier(),
      registry,
      policy: seedPolicy,
      audit,
      timeZone: "UTC",
    });
    const credential = CredentialProvider.forAgent(authority, SUPPORT, { audience: AUDIENCE });
    const call = () =>
      gate.invoke(
        {
          tool: { ...crmLookup, name: "crm_lookup" },
          arguments: { customerId: "acme" },
          credential,
        },
        async () => "ran",
      );
    // The seed policy reads business hours; whatever the hour, the call reaches a decision.
    await call().catch(() => "denied by hours");

    const script = `import { FileRevocationList } from ${JSON.stringify(DIST_NODE)};
      await new FileRevocationList(${JSON.stringify(join(dir, "revocations.jsonl"))}).revoke("agent", ${JSON.stringify(SUPPORT)}, "incident");`;
    execFileSync(process.execPath, ["--input-type=module", "-e", script]);
    // The 1 s propagation bound is measured in bench/bounds.mjs; the test waits to a deadline.
    await pollUntil(
      () => call().catch((error: { code?: string }) => error.code),
      (result) => result === "agent_revoked",
      { what: "the revocation reaching the gate" },
    );
    await expectCode(call(), "agent_revoked");
    expect(audit.events.at(-1)?.decision).toMatchObject({ allowed: false, code: "agent_revoked" });
  });
});

describe("the gate on the file audit log", () => {
  async function fileGate(durability: "process" | "group") {
    const dir = tempDir("agentgate-path-");
    const registry = new JsonFileAgentRegistry(join(dir, "agents.json"));
    await registry.put(
      defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
    );
    const authority = await Authority.create({ trustDomain: "acme.example", registry });
    const audit = await FileAuditLog.open({ directory: join(dir, "audit"), durability });
    const policy = new FunctionPolicyClient(() =>
      allow("ok", { policies: ["allow-all"], obligations: ["redact:card.holder"] }),
    );
    const gate = new Gate({
      audience: AUDIENCE,
      verifier: authority.verifier(),
      registry,
      policy,
      audit,
    });
    const credential = CredentialProvider.forAgent(authority, SUPPORT, { audience: AUDIENCE });
    return { dir, gate, audit, credential, authority };
  }

  it("G56: 1,000 concurrent invocations through one gate: each audited exactly once, the chain valid", async () => {
    const { dir, gate, audit, credential } = await fileGate("group");
    await Promise.all(
      Array.from({ length: 1000 }, (_, index) =>
        gate.invoke(
          { tool: { name: "echo" }, arguments: { index }, credential },
          async (args) => args.index,
        ),
      ),
    );
    await audit.close();
    expect(await verifyAuditLog(join(dir, "audit"))).toMatchObject({ ok: true, records: 2000 });
    const seen = new Map<string, string[]>();
    for await (const record of readAuditLog(join(dir, "audit"))) {
      seen.set(record.invocationId as string, [
        ...(seen.get(record.invocationId as string) ?? []),
        record.type,
      ]);
    }
    expect(seen.size).toBe(1000);
    for (const types of seen.values()) expect(types).toEqual(["decision", "outcome"]);
  });

  it("E44 + I69: planted secrets and tokens never reach the log file (grep)", async () => {
    const { dir, gate, audit, credential, authority } = await fileGate("process");
    const secrets = {
      password: "hunter2-planted",
      apiKey: "sk-live-planted-123",
      card: { number: "4111 1111 1111 1111", holder: "Carol Planted" },
      memo: "ssn 123-45-6789 and card 5500 0000 0000 0004",
    };
    const bearer = (await authority.issueToken(SUPPORT, { audience: AUDIENCE })).token;
    await gate
      .invoke(
        {
          tool: { name: "pay" },
          arguments: { ...secrets, header: `Bearer ${bearer}` },
          credential,
        },
        async () => {
          throw new Error(`upstream refused ${bearer} for card 4111111111111111`);
        },
      )
      .catch(() => undefined);
    await gate
      .invoke(
        { tool: { name: "pay" }, arguments: {}, credential: `${bearer.slice(0, -3)}xyz` },
        async () => "ran",
      )
      .catch(() => undefined);
    await audit.close();
    const text = readFileSync(join(dir, "audit", "audit-000001.jsonl"), "utf8");
    for (const planted of [
      "hunter2-planted",
      "sk-live-planted-123",
      "4111 1111 1111 1111",
      "4111111111111111",
      "Carol Planted",
      "5500 0000 0000 0004",
      bearer,
    ]) {
      expect(text).not.toContain(planted);
    }
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(text).toContain("[REDACTED]");
  });
});
