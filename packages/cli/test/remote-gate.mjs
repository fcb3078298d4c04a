// A gate in a second process that trusts the AgentGate server remotely: keys from its JWKS,
// decisions from its AuthZEN PDP, revocations from its feed. Prints one line per call.
import {
  AuthZenPolicyClient,
  defineAgent,
  Gate,
  JwksKeySet,
  MemoryAgentRegistry,
  MemoryAuditSink,
  TokenVerifier,
} from "../../core/dist/index.js";
import { FeedRevocationList } from "../dist/index.js";

const [url, token, agent] = process.argv.slice(2);
const keys = await JwksKeySet.fromJwks(await (await fetch(`${url}/.well-known/jwks.json`)).json());
const revocations = await FeedRevocationList.start({ url, intervalMs: 100 });
const registry = new MemoryAgentRegistry([
  defineAgent({ id: agent, owner: "alice@acme.example", maxScopes: ["crm:read"] }),
]);
const verifier = new TokenVerifier({
  issuer: "spiffe://acme.example",
  trustDomain: "acme.example",
  keys,
  revocations,
});
const policy = await AuthZenPolicyClient.discover(url);
const gate = new Gate({
  audience: "https://tools.acme.example",
  verifier,
  registry,
  policy,
  audit: new MemoryAuditSink(),
  timeZone: "Europe/Berlin",
  clock: { now: () => Date.parse("2026-01-05T09:00:00Z") },
});
const call = () =>
  gate
    .invoke(
      {
        tool: { name: "crm_lookup", action: "read", resources: { customer: "customerId" } },
        arguments: { customerId: "acme" },
        credential: token,
      },
      async () => "allowed",
    )
    .catch((error) => error.code);
console.log(await call());
process.stdin.once("data", async () => {
  // Generous: the feed polls every 100 ms, but a loaded machine may take seconds to get there.
  const deadline = Date.now() + 20_000; // under the test's 30 s wait, so the test sees our answer
  let result = await call();
  while (result === "allowed" && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    result = await call();
  }
  console.log(result);
  revocations.stop();
  process.exit(0);
});
