// AgentGate quick start: the identity life cycle of two agents, end to end, on embedded
// defaults (keys, registry and revocations in a temporary .agentgate directory). No network,
// no API key. It checks every outcome it prints and exits non-zero on any surprise.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Authority, type Clock, defineAgent, isAgentGateError } from "@agentgate/core";
import { FileKeyStore, FileRevocationList, JsonFileAgentRegistry } from "@agentgate/core/node";

const quiet = process.argv.includes("--quiet");
const home = mkdtempSync(join(tmpdir(), "agentgate-quickstart-"));
// An injectable clock lets the demo show expiry without waiting.
let now = Date.now();
const clock: Clock = { now: () => now };

const CRM = "https://crm.acme.example";
const SUPPORT = "spiffe://acme.example/agent/support";
const OPS = "spiffe://acme.example/agent/ops";

const rows: Array<{ step: string; outcome: string; detail: string; ok: boolean }> = [];

/** Runs one step; `expected` is "ok" or the error code the step must fail with. */
async function step(name: string, expected: string, action: () => Promise<string>): Promise<void> {
  let outcome: string;
  let detail: string;
  try {
    detail = await action();
    outcome = "ok";
  } catch (error) {
    if (!isAgentGateError(error)) throw error;
    outcome = error.code;
    detail = error.message;
  }
  rows.push({ step: name, outcome, detail, ok: outcome === expected });
}

// 1. A trust domain: keys, registry and revocations on disk.
const registry = new JsonFileAgentRegistry(join(home, "agents.json"), { clock });
const revocations = new FileRevocationList(join(home, "revocations.jsonl"), { clock });
const authority = await Authority.create({
  trustDomain: "acme.example",
  registry,
  revocations,
  keyStore: new FileKeyStore(join(home, "keys")),
  clock,
  rotationOverlapSeconds: 600,
});
const verifier = authority.verifier();

// 2. Two agents, each with an accountable owner and an upper bound of scopes.
await registry.put(
  defineAgent(
    {
      id: SUPPORT,
      owner: "alice@acme.example",
      team: "customer-support",
      purpose: "Answers customer questions from CRM data",
      maxScopes: ["crm:read"],
    },
    clock,
  ),
);
await registry.put(
  defineAgent(
    {
      id: OPS,
      owner: "bob@acme.example",
      team: "operations",
      supervision: "supervised",
      maxScopes: ["crm:read", "crm:write"],
    },
    clock,
  ),
);

let supportToken = "";
let opsToken = "";
let delegatedToken = "";

await step("create trust domain acme.example", "ok", async () => {
  const [key] = authority.keys();
  return `${key?.alg} key ${key?.kid.slice(0, 12)}…, JWKS with ${authority.jwks().keys.length} key`;
});
await step("register 2 agents", "ok", async () =>
  (await registry.list())
    .map((agent) => `${agent.id.split("/").at(-1)} (${agent.supervision})`)
    .join(", "),
);
await step("issue token: support → crm", "ok", async () => {
  const issued = await authority.issueToken(SUPPORT, { audience: CRM, scope: ["crm:read"] });
  supportToken = issued.token;
  return `jti ${issued.tokenId.slice(0, 8)}…, scope ${issued.scopes.join(" ")}, ${issued.expiresAt - issued.issuedAt}s`;
});
await step("verify support's token", "ok", async () => {
  const verified = await verifier.verify(supportToken, { audience: CRM });
  return `${verified.agent.name} owned by ${verified.attributes.owner}`;
});
await step("issue: support asks for crm:write", "scope_invalid", async () => {
  await authority.issueToken(SUPPORT, { audience: CRM, scope: ["crm:write"] });
  return "issued";
});
await step("issue token: ops acting for user carol", "ok", async () => {
  const issued = await authority.issueToken(OPS, {
    audience: CRM,
    principal: "user:carol@acme.example",
  });
  opsToken = issued.token;
  return `chain ${issued.chain.map(short).join(" → ")}`;
});
await step("delegate ops → support (crm:read)", "ok", async () => {
  const issued = await authority.delegate(opsToken, {
    to: SUPPORT,
    audience: CRM,
    scope: ["crm:read"],
  });
  delegatedToken = issued.token;
  const verified = await verifier.verify(delegatedToken, { audience: CRM });
  return `chain ${verified.chain.map(short).join(" → ")}, scope ${verified.scopes.join(" ")}`;
});
await step("delegate ops → support with crm:write", "delegation_invalid", async () => {
  await authority.delegate(opsToken, { to: SUPPORT, audience: CRM, scope: ["crm:write"] });
  return "delegated";
});
await step("verify for another audience", "token_invalid", async () => {
  await verifier.verify(supportToken, { audience: "https://billing.acme.example" });
  return "accepted";
});
await step("verify a tampered token", "token_invalid", async () => {
  const [header, payload, signature] = supportToken.split(".");
  const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
  claims.scope = "crm:read crm:write";
  await verifier.verify(
    `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`,
    {
      audience: CRM,
    },
  );
  return "accepted";
});
await step("rotate the signing key", "ok", async () => {
  const key = await authority.rotateKey();
  return `new key ${key.kid.slice(0, 12)}…, ${authority.jwks().keys.length} keys published`;
});
await step("old token still verifies (overlap)", "ok", async () => {
  await verifier.verify(supportToken, { audience: CRM });
  return "signed by the previous key, inside the 600 s window";
});
await step("6 minutes later: support's token", "token_expired", async () => {
  now += 6 * 60_000;
  await verifier.verify(supportToken, { audience: CRM });
  return "accepted";
});
await step("revoke agent ops", "ok", async () => {
  await revocations.revoke("agent", OPS, "demo: credentials leaked");
  return "written to revocations.jsonl (shared by every process)";
});
await step("delegated token naming ops", "agent_revoked", async () => {
  now -= 6 * 60_000;
  await verifier.verify(delegatedToken, { audience: CRM });
  return "accepted";
});
await step("issue a token for ops", "agent_revoked", async () => {
  await authority.issueToken(OPS, { audience: CRM });
  return "issued";
});

if (!quiet) {
  const width = Math.max(...rows.map((row) => row.step.length));
  console.log("\nAgentGate quick start: agent identity life cycle\n");
  console.log(`  ${"step".padEnd(width)}  ${"outcome".padEnd(18)}  detail`);
  console.log(`  ${"-".repeat(width)}  ${"-".repeat(18)}  ${"-".repeat(40)}`);
  for (const row of rows) {
    const mark = row.ok ? " " : "!";
    console.log(`${mark} ${row.step.padEnd(width)}  ${row.outcome.padEnd(18)}  ${row.detail}`);
  }
  console.log(`\nState kept in ${home}`);
}
const failed = rows.filter((row) => !row.ok);
if (failed.length > 0) {
  console.error(
    `\n${failed.length} step(s) did not behave as expected: ${failed.map((row) => row.step).join("; ")}`,
  );
  process.exit(1);
}
console.log(`quickstart: ${rows.length} passed, 0 failed`);

function short(id: string): string {
  return id.startsWith("spiffe://") ? (id.split("/").at(-1) ?? id) : id;
}
