import type { AgentRecord } from "@agentgate/core";
import type { InsightRecord } from "./verified-log.js";

/** One agent of the inventory: who answers for it, what it is for, and what it did. */
export interface InventoryEntry {
  readonly agent: string;
  readonly displayName: string;
  /** The accountable owner; empty when the agent is in the log but not in the registry. */
  readonly owner: string;
  readonly team?: string;
  readonly purpose?: string;
  /** `autonomous`, `supervised`, `suspended`, or `unregistered` (in the log only). */
  readonly supervision: string;
  /** On the revocation list. */
  readonly revoked: boolean;
  readonly createdAt?: string;
  readonly expiresAt?: string;
  /** ISO 8601 time of its last decision in the log. */
  readonly lastActive?: string;
  /** Tool calls decided (decision events where it is the acting agent). */
  readonly calls: number;
  /** Those denied. */
  readonly denials: number;
  /** Decided calls with a delegation chain it took part in (as delegator or as actor). */
  readonly delegations: number;
  readonly scopesGranted: readonly string[];
}

/** Options of {@link agentInventory}. */
export interface InventoryOptions {
  /** Whether an agent is revoked (e.g. the directory's revocation list). Default: none is. */
  readonly revoked?: (agent: string) => boolean;
}

/** Tool-call decisions: the records the inventory and the findings count as calls. */
export function isCallDecision(record: InsightRecord): boolean {
  return record.type === "decision" && record.agent !== undefined;
}

/**
 * The inventory of every agent: each registered agent (owner, team, purpose, supervision,
 * created and expiry dates) with its activity in `records` (last active, calls, denials,
 * delegations), then every agent the log names that the registry does not (`unregistered`).
 *
 * @example
 * ```ts
 * const inventory = agentInventory(log.records, await registry.list());
 * ```
 */
export function agentInventory(
  records: readonly InsightRecord[],
  agents: readonly AgentRecord[],
  options: InventoryOptions = {},
): InventoryEntry[] {
  const activity = new Map<
    string,
    { calls: number; denials: number; delegations: number; last?: string }
  >();
  const of = (agent: string) => {
    let entry = activity.get(agent);
    if (entry === undefined) {
      entry = { calls: 0, denials: 0, delegations: 0 };
      activity.set(agent, entry);
    }
    return entry;
  };
  for (const record of records) {
    if (!isCallDecision(record) || record.agent === undefined) continue;
    const entry = of(record.agent);
    entry.calls++;
    if (record.decision?.allowed === false) entry.denials++;
    if (entry.last === undefined || record.time > entry.last) entry.last = record.time;
    const chain = record.chain ?? [];
    if (chain.length > 1) for (const member of new Set(chain)) of(member).delegations++;
  }
  const revoked = options.revoked ?? (() => false);
  const entries: InventoryEntry[] = agents.map((agent) => {
    const seen = activity.get(agent.id);
    return {
      agent: agent.id,
      displayName: agent.displayName,
      owner: agent.owner,
      ...(agent.team === undefined ? {} : { team: agent.team }),
      ...(agent.purpose === undefined ? {} : { purpose: agent.purpose }),
      supervision: agent.supervision,
      revoked: revoked(agent.id),
      createdAt: agent.createdAt,
      ...(agent.expiresAt === undefined ? {} : { expiresAt: agent.expiresAt }),
      ...(seen?.last === undefined ? {} : { lastActive: seen.last }),
      calls: seen?.calls ?? 0,
      denials: seen?.denials ?? 0,
      delegations: seen?.delegations ?? 0,
      scopesGranted: [...agent.maxScopes],
    };
  });
  const registered = new Set(agents.map((agent) => agent.id));
  for (const [agent, seen] of activity) {
    if (registered.has(agent) || seen.calls === 0) continue;
    entries.push({
      agent,
      displayName: agent.slice(agent.lastIndexOf("/") + 1),
      owner: "",
      supervision: "unregistered",
      revoked: revoked(agent),
      ...(seen.last === undefined ? {} : { lastActive: seen.last }),
      calls: seen.calls,
      denials: seen.denials,
      delegations: seen.delegations,
      scopesGranted: [],
    });
  }
  return entries;
}
