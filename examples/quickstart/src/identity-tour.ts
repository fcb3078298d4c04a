// Part 1 of the quick start: the identity life cycle of two agents on embedded defaults (keys,
// registry and revocations in files under a temporary directory).
import { join } from "node:path";
import { Authority, type Clock, defineAgent } from "@agentgate/core";
import { FileKeyStore, FileRevocationList, JsonFileAgentRegistry } from "@agentgate/core/node";
import { type Row, step } from "./table.js";

const CRM = "https://crm.acme.example";
const SUPPORT = "spiffe://acme.example/agent/support";
const OPS = "spiffe://acme.example/agent/ops";

/** Creates a trust domain in `home`, walks through issue, delegate, verify, rotate, revoke. */
export async function identityTour(home: string): Promise<Row[]> {
  const rows: Row[] = [];
  // An injectable clock lets the demo show expiry without waiting.
  let now = Date.now();
  const clock: Clock = { now: () => now };

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

  await step(rows, "create trust domain acme.example", "ok", async () => {
    const [key] = authority.keys();
    return `${key?.alg} key ${key?.kid.slice(0, 12)}…, JWKS with ${authority.jwks().keys.length} key`;
  });
  await step(rows, "register 2 agents", "ok", async () =>
    (await registry.list())
      .map((agent) => `${agent.id.split("/").at(-1)} (${agent.supervision})`)
      .join(", "),
  );
  await step(rows, "issue token: support → crm", "ok", async () => {
    const issued = await authority.issueToken(SUPPORT, { audience: CRM, scope: ["crm:read"] });
    supportToken = issued.token;
    return `jti ${issued.tokenId.slice(0, 8)}…, scope ${issued.scopes.join(" ")}, ${issued.expiresAt - issued.issuedAt}s`;
  });
  await step(rows, "verify support's token", "ok", async () => {
    const verified = await verifier.verify(supportToken, { audience: CRM });
    return `${verified.agent.name} owned by ${verified.attributes.owner}`;
  });
  await step(rows, "issue: support asks for crm:write", "scope_invalid", async () => {
    await authority.issueToken(SUPPORT, { audience: CRM, scope: ["crm:write"] });
    return "issued";
  });
  await step(rows, "issue token: ops acting for user carol", "ok", async () => {
    const issued = await authority.issueToken(OPS, {
      audience: CRM,
      principal: "user:carol@acme.example",
    });
    opsToken = issued.token;
    return `chain ${issued.chain.map(short).join(" → ")}`;
  });
  await step(rows, "delegate ops → support (crm:read)", "ok", async () => {
    const issued = await authority.delegate(opsToken, {
      to: SUPPORT,
      audience: CRM,
      scope: ["crm:read"],
    });
    delegatedToken = issued.token;
    const verified = await verifier.verify(delegatedToken, { audience: CRM });
    return `chain ${verified.chain.map(short).join(" → ")}, scope ${verified.scopes.join(" ")}`;
  });
  await step(rows, "delegate ops → support with crm:write", "delegation_invalid", async () => {
    await authority.delegate(opsToken, { to: SUPPORT, audience: CRM, scope: ["crm:write"] });
    return "delegated";
  });
  await step(rows, "verify for another audience", "token_invalid", async () => {
    await verifier.verify(supportToken, { audience: "https://billing.acme.example" });
    return "accepted";
  });
  await step(rows, "verify a tampered token", "token_invalid", async () => {
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
  await step(rows, "rotate the signing key", "ok", async () => {
    const key = await authority.rotateKey();
    return `new key ${key.kid.slice(0, 12)}…, ${authority.jwks().keys.length} keys published`;
  });
  await step(rows, "old token still verifies (overlap)", "ok", async () => {
    await verifier.verify(supportToken, { audience: CRM });
    return "signed by the previous key, inside the 600 s window";
  });
  await step(rows, "6 minutes later: support's token", "token_expired", async () => {
    now += 6 * 60_000;
    await verifier.verify(supportToken, { audience: CRM });
    return "accepted";
  });
  await step(rows, "revoke agent ops", "ok", async () => {
    await revocations.revoke("agent", OPS, "demo: credentials leaked");
    return "written to revocations.jsonl (shared by every process)";
  });
  await step(rows, "delegated token naming ops", "agent_revoked", async () => {
    now -= 6 * 60_000;
    await verifier.verify(delegatedToken, { audience: CRM });
    return "accepted";
  });
  await step(rows, "issue a token for ops", "agent_revoked", async () => {
    await authority.issueToken(OPS, { audience: CRM });
    return "issued";
  });

  return rows;
}

function short(id: string): string {
  return id.startsWith("spiffe://") ? (id.split("/").at(-1) ?? id) : id;
}
