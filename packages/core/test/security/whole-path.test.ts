import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  Authority,
  CredentialProvider,
  defineAgent,
  Gate,
  MemoryAuditSink,
} from "../../src/index.js";
import { FileKeyStore, FileRevocationList, JsonFileAgentRegistry } from "../../src/node/index.js";
import { expectCode } from "../fixtures/expect-code.js";
import { crmLookup, seedPolicy } from "../fixtures/gate.js";

const DIST_NODE = fileURLToPath(new URL("../../dist/node/index.js", import.meta.url));
const SUPPORT = "spiffe://acme.example/agent/support";
const AUDIENCE = "https://crm.acme.example";

describe("the whole path on embedded file stores", () => {
  it("D36 through the gate: another process revokes the agent; this gate denies its next call within 1 s", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agentgate-path-"));
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
    const revokedAt = Date.now();
    for (;;) {
      const result = await call().catch((error: { code?: string }) => error.code);
      if (result === "agent_revoked") break;
      expect(Date.now() - revokedAt, "revocation not seen within 1 s").toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await expectCode(call(), "agent_revoked");
    expect(audit.events.at(-1)?.decision).toMatchObject({ allowed: false, code: "agent_revoked" });
  });
});
