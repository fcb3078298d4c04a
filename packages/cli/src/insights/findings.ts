import type { AgentRecord, PolicyClient } from "@agentgate/core";
import { toolLabel } from "./activity.js";
import { isCallDecision } from "./inventory.js";
import { type RequestSettings, recordedRequest } from "./recorded-request.js";
import type { InsightRecord } from "./verified-log.js";

/** The kinds of least-privilege finding. */
export type FindingKind =
  | "unused_scope"
  | "unused_permission"
  | "dormant_agent"
  | "unknown_owner"
  | "approvals_always_granted";

/** One least-privilege finding, with the change that would fix it. */
export interface Finding {
  readonly kind: FindingKind;
  readonly agent: string;
  readonly severity: "high" | "medium" | "low";
  /** What was found, in one sentence. */
  readonly summary: string;
  /** The change to make (a command, or a policy edit). */
  readonly suggestion: string;
  /** The scope, tool or policies the finding is about, when it has one. */
  readonly scope?: string;
  readonly tool?: string;
  readonly policies?: readonly string[];
}

/** Options of {@link leastPrivilegeFindings}. */
export interface FindingOptions {
  /**
   * The policies to ask (the gate's Cedar set, `CedarPolicyClient.fromDirectory`). Without it,
   * scopes count as used when a token presented them, and permitted-but-unused tools are not
   * looked for.
   */
  readonly policy?: PolicyClient;
  /** The gate's time zone and environment, to rebuild recorded requests exactly. */
  readonly settings?: RequestSettings;
  /** An agent with no call for this many days is dormant. Default 30. */
  readonly dormantDays?: number;
  /** The time dormancy is counted to, epoch ms. Default `Date.now()`. */
  readonly now?: number;
  /**
   * The people and teams that may own agents (from the IdP or an HR export). Without it only
   * an empty owner is unknown.
   */
  readonly knownOwners?: ReadonlySet<string>;
  /** A supervised agent is flagged after at least this many approvals, all granted. Default 3. */
  readonly minApprovals?: number;
  /** Revoked agents (nothing left to narrow): skipped. Default: none is. */
  readonly revoked?: (agent: string) => boolean;
}

const DEFAULT_SETTINGS: RequestSettings = { timeZone: "UTC", environment: "development" };

/**
 * Least-privilege findings from the records of a verified log and the registry, each with the
 * change to make:
 * - `unused_scope`: a granted scope no allowed call needed (with `policy`: the call is asked
 *   again without the scope and stays allowed; without: no token presented it);
 * - `unused_permission`: a tool the policies permit the agent (asked with each call seen in
 *   the log, as if this agent made it) that it never called;
 * - `dormant_agent`: no call for `dormantDays`;
 * - `unknown_owner`: an empty owner, or one not among `knownOwners`;
 * - `approvals_always_granted`: a supervised agent whose approvals (at least `minApprovals`)
 *   were all granted.
 *
 * Suspended and revoked agents are skipped. Only what the log shows counts: run it over the
 * verified records (`readVerifiedLog`).
 *
 * @example
 * ```ts
 * const findings = await leastPrivilegeFindings(log.records, agents, { policy, dormantDays: 30 });
 * ```
 */
export async function leastPrivilegeFindings(
  records: readonly InsightRecord[],
  agents: readonly AgentRecord[],
  options: FindingOptions = {},
): Promise<Finding[]> {
  const settings = options.settings ?? DEFAULT_SETTINGS;
  const decisions = records.filter(isCallDecision);
  const findings: Finding[] = [];
  for (const agent of agents) {
    // A suspended or revoked agent holds nothing it can use: no finding to act on.
    if (agent.supervision === "suspended" || options.revoked?.(agent.id) === true) continue;
    const own = decisions.filter((record) => record.agent === agent.id);
    findings.push(...(await unusedScopes(agent, own, options.policy, settings)));
    if (options.policy !== undefined)
      findings.push(...(await unusedPermissions(agent, own, decisions, options.policy, settings)));
    const dormant = dormancy(agent, own, options);
    if (dormant !== undefined) findings.push(dormant);
    const owner = ownerFinding(agent, options.knownOwners);
    if (owner !== undefined) findings.push(owner);
    const approvals = approvalFinding(agent, records, options.minApprovals ?? 3);
    if (approvals !== undefined) findings.push(approvals);
  }
  return findings;
}

/** Granted scopes that no allowed call of the agent needed. */
export async function unusedScopes(
  agent: AgentRecord,
  own: readonly InsightRecord[],
  policy: PolicyClient | undefined,
  settings: RequestSettings = DEFAULT_SETTINGS,
): Promise<Finding[]> {
  const used = new Set<string>();
  const allowed = own.filter((record) => record.decision?.allowed === true);
  for (const scope of agent.maxScopes) {
    for (const record of allowed) {
      if (!(record.scopes ?? []).includes(scope)) continue;
      if (policy === undefined) {
        used.add(scope);
        break;
      }
      // Needed: the same call, asked again without this scope, is no longer allowed.
      const without = recordedRequest(record, agent, settings, {
        scopes: (record.scopes ?? []).filter((other) => other !== scope),
      });
      if (without === undefined) continue;
      if (!(await policy.evaluate(without)).allowed) {
        used.add(scope);
        break;
      }
    }
  }
  const unused = agent.maxScopes.filter((scope) => !used.has(scope));
  const kept = agent.maxScopes.filter((scope) => used.has(scope));
  // One change for all of them: the scopes that stay.
  const suggestion =
    kept.length > 0
      ? `agentgate agent update ${agent.id} --scope ${kept.join(" ")}`
      : `It needed none of its scopes: remove them, or suspend it (agentgate agent suspend ${agent.id})`;
  return unused.map((scope) => ({
    kind: "unused_scope" as const,
    agent: agent.id,
    severity: "medium" as const,
    scope,
    summary:
      policy === undefined
        ? `${scope} is granted but no allowed call presented it in the window.`
        : `${scope} is granted but no allowed call in the window needed it.`,
    suggestion,
  }));
}

/** Tools the policies permit the agent that it never called. */
export async function unusedPermissions(
  agent: AgentRecord,
  own: readonly InsightRecord[],
  decisions: readonly InsightRecord[],
  policy: PolicyClient,
  settings: RequestSettings = DEFAULT_SETTINGS,
): Promise<Finding[]> {
  const called = new Set(own.map(toolLabel));
  // One exemplar per tool, action and resource: the calls anyone made, asked for this agent.
  const exemplars = new Map<string, InsightRecord>();
  for (const record of decisions) {
    const tool = toolLabel(record);
    if (tool === undefined || called.has(tool)) continue;
    const key = JSON.stringify([tool, record.action, record.resource?.properties ?? {}]);
    if (!exemplars.has(key)) exemplars.set(key, record);
  }
  const permitted = new Map<string, { action: string; policies: Set<string> }>();
  for (const record of exemplars.values()) {
    const tool = toolLabel(record) ?? "";
    const request = recordedRequest(record, undefined, settings, { agent });
    if (request === undefined) continue;
    const decision = await policy.evaluate(request);
    if (!decision.allowed) continue;
    const entry = permitted.get(tool) ?? {
      action: record.action ?? "execute",
      policies: new Set(),
    };
    for (const id of decision.policies) entry.policies.add(id);
    permitted.set(tool, entry);
  }
  return [...permitted.entries()].map(([tool, { action, policies }]) => {
    const ids = [...policies].sort();
    const used = [
      ...new Set(
        own.filter((record) => record.action === action).map((record) => record.tool?.name ?? ""),
      ),
    ].filter((name) => name !== "");
    return {
      kind: "unused_permission" as const,
      agent: agent.id,
      severity: "high" as const,
      tool,
      policies: ids,
      summary: `The policies permit it to ${action} ${tool} (${ids.join(", ") || "no policy id"}), which it never called in the window.`,
      suggestion:
        used.length === 0
          ? `Narrow ${ids.join(", ") || "the permitting policy"} so it does not permit ${action} on ${tool}, or add a forbid for ${tool}.`
          : `Narrow ${ids.join(", ") || "the permitting policy"} to the tools it uses for ${action} (${used.map((name) => `Tool::"${name}"`).join(", ")}), or add a forbid for ${tool}.`,
    };
  });
}

/** An agent with no call (or, never active, created) longer ago than the dormancy window. */
export function dormancy(
  agent: AgentRecord,
  own: readonly InsightRecord[],
  options: Pick<FindingOptions, "dormantDays" | "now"> = {},
): Finding | undefined {
  const days = options.dormantDays ?? 30;
  const now = options.now ?? Date.now();
  const last = own.reduce<string | undefined>(
    (latest, record) => (latest === undefined || record.time > latest ? record.time : latest),
    undefined,
  );
  const since = last ?? agent.createdAt;
  if (now - Date.parse(since) <= days * 86_400_000) return undefined;
  return {
    kind: "dormant_agent",
    agent: agent.id,
    severity: "medium",
    summary:
      last === undefined
        ? `Never active since it was registered on ${since.slice(0, 10)} (over ${days} days).`
        : `Dormant: last call on ${since.slice(0, 10)}, over ${days} days ago.`,
    suggestion: `agentgate agent suspend ${agent.id} (or revoke it if it is no longer needed)`,
  };
}

/** An owner that is empty, or not among the known owners. */
export function ownerFinding(
  agent: AgentRecord,
  knownOwners: ReadonlySet<string> | undefined,
): Finding | undefined {
  const owner = agent.owner.trim();
  if (owner !== "" && (knownOwners === undefined || knownOwners.has(owner))) return undefined;
  return {
    kind: "unknown_owner",
    agent: agent.id,
    severity: "high",
    summary:
      owner === ""
        ? "No owner: nobody answers for this agent."
        : `Its owner ${owner} is not a known person or team.`,
    suggestion: `agentgate agent update ${agent.id} --owner <accountable person or team>`,
  };
}

/** A supervised agent whose approvals were all granted (at least `minimum` of them). */
export function approvalFinding(
  agent: AgentRecord,
  records: readonly InsightRecord[],
  minimum: number,
): Finding | undefined {
  if (agent.supervision !== "supervised") return undefined;
  const approvals = records.filter(
    (record) => record.type === "approval" && record.agent === agent.id && record.approval,
  );
  if (approvals.length < minimum || approvals.some((record) => !record.approval?.approved))
    return undefined;
  const tools = [...new Set(approvals.map(toolLabel))].filter(Boolean).join(", ");
  return {
    kind: "approvals_always_granted",
    agent: agent.id,
    severity: "low",
    summary: `All ${approvals.length} approvals were granted (${tools}): the approval step may be a rubber stamp.`,
    suggestion: `Review whether ${tools} needs a human: if not, drop the require-approval obligation for it (or make the agent autonomous); if so, check that approvers see enough to refuse.`,
  };
}
