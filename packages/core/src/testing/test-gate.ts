import type { AuditSink } from "../audit/audit-sink.js";
import { MemoryAuditSink } from "../audit/audit-sink.js";
import type { Clock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { CredentialProvider } from "../gate/credential-provider.js";
import { Gate, type GateOptions } from "../gate/gate.js";
import { AgentId } from "../identity/agent-id.js";
import { type AgentDefinition, defineAgent } from "../identity/agent-record.js";
import { MemoryAgentRegistry } from "../identity/agent-registry.js";
import { Authority } from "../identity/authority.js";

/** Options of {@link createTestGate}. */
export interface TestGateOptions<Sink extends AuditSink = MemoryAuditSink>
  extends Partial<Omit<GateOptions, "verifier" | "registry" | "audit" | "authority">> {
  /** This gate's token audience. */
  readonly audience: string;
  /** Decides every call (a `FunctionPolicyClient`, Cedar, …). */
  readonly policy: GateOptions["policy"];
  /** The agents to register. */
  readonly agents: readonly AgentDefinition[];
  /** The trust domain. Default: the first agent's. */
  readonly trustDomain?: string;
  /** Where events go. Default: a new `MemoryAuditSink`. */
  readonly audit?: Sink;
  /** Time source for the records, the authority and the gate. Default: the system clock. */
  readonly clock?: Clock;
}

/** What {@link createTestGate} builds. */
export interface TestGate<Sink extends AuditSink = MemoryAuditSink> {
  readonly gate: Gate;
  /** Issues, delegates and revokes for the registered agents; the gate verifies with it. */
  readonly authority: Authority;
  readonly registry: MemoryAgentRegistry;
  readonly audit: Sink;
  /** A credential provider for `agent`, for this gate's audience unless told otherwise. */
  credentials(agent: string, audience?: string): CredentialProvider;
}

/**
 * A gate over in-memory parts, for tests of agents and tools built on AgentGate: the agents
 * registered, an authority of their trust domain with a fresh key, the given policy, and the
 * audit events in memory. Every option of a {@link Gate} can still be set.
 *
 * @example
 * ```ts
 * const { gate, credentials, audit } = await createTestGate({
 *   audience: "https://tools.acme.example",
 *   agents: [{ id: "spiffe://acme.example/agent/support", owner: "alice@acme.example", maxScopes: ["crm:read"] }],
 *   policy: new FunctionPolicyClient((request) => request.action.name === "read" ? allow("reads") : deny("no")),
 * });
 * const lookup = protectTool(crmLookup, { gate, credential: credentials("spiffe://acme.example/agent/support") });
 * ```
 */
export async function createTestGate<Sink extends AuditSink = MemoryAuditSink>(
  options: TestGateOptions<Sink>,
): Promise<TestGate<Sink>> {
  const { agents, trustDomain, clock, ...gateOptions } = options;
  const first = agents[0];
  const domain =
    trustDomain ??
    (first === undefined
      ? undefined
      : (typeof first.id === "string" ? AgentId.parse(first.id) : first.id).trustDomain);
  if (domain === undefined) {
    throw new AgentGateError(
      "invalid_configuration",
      "A test gate needs agents or a trust domain.",
    );
  }
  const registry = new MemoryAgentRegistry(
    agents.map((agent) => defineAgent(agent, clock ?? { now: Date.now })),
  );
  const authority = await Authority.create({
    trustDomain: domain,
    registry,
    ...(clock === undefined ? {} : { clock }),
  });
  const audit = options.audit ?? (new MemoryAuditSink() as AuditSink as Sink);
  const gate = new Gate({
    ...gateOptions,
    ...(clock === undefined ? {} : { clock }),
    verifier: authority.verifier(),
    registry,
    audit,
    authority,
  });
  return {
    gate,
    authority,
    registry,
    audit,
    credentials: (agent, audience = options.audience) =>
      CredentialProvider.forAgent(authority, agent, { audience }),
  };
}
