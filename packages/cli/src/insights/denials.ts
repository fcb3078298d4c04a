import { toolLabel } from "./activity.js";
import { isCallDecision } from "./inventory.js";
import type { InsightRecord } from "./verified-log.js";

/** Denials that share a reason, or a deciding policy. */
export interface DenialGroup {
  /** The reason (the administrator's), or the policy id (`(no policy)`: default deny). */
  readonly key: string;
  readonly count: number;
  /** The error codes seen (`access_denied`, `agent_revoked`, …). */
  readonly codes: readonly string[];
  readonly agents: readonly string[];
  readonly tools: readonly string[];
  /** ISO 8601 time of the latest. */
  readonly last: string;
  /** Event ids of the group's denials, newest first (at most 20). */
  readonly events: readonly string[];
}

/** Denials grouped two ways. */
export interface DenialSummary {
  readonly total: number;
  readonly byReason: readonly DenialGroup[];
  readonly byPolicy: readonly DenialGroup[];
}

/** The key a denial with no deciding policy is grouped under (default deny, or refused before policy). */
export const NO_POLICY = "(no policy)";

/**
 * Every denied call in `records`, grouped by the administrator's reason and by the deciding
 * policy (a denial decided by two policies counts in both), largest group first.
 *
 * @example
 * ```ts
 * const { byPolicy } = groupDenials(log.records);
 * ```
 */
export function groupDenials(records: readonly InsightRecord[]): DenialSummary {
  const denials = records.filter(
    (record) => isCallDecision(record) && record.decision?.allowed === false,
  );
  const group = (keys: (record: InsightRecord) => readonly string[]) => {
    const groups = new Map<string, InsightRecord[]>();
    for (const record of denials)
      for (const key of keys(record)) groups.set(key, [...(groups.get(key) ?? []), record]);
    return [...groups.entries()]
      .map(([key, members]): DenialGroup => {
        const sorted = [...members].sort((a, b) => b.time.localeCompare(a.time));
        return {
          key,
          count: members.length,
          codes: distinct(members.map((record) => record.decision?.code)),
          agents: distinct(members.map((record) => record.agent)),
          tools: distinct(members.map(toolLabel)),
          last: sorted[0]?.time ?? "",
          events: sorted.slice(0, 20).map((record) => record.id),
        };
      })
      .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  };
  return {
    total: denials.length,
    byReason: group((record) => [record.decision?.reason ?? ""]),
    byPolicy: group((record) => {
      const policies = record.decision?.policies ?? [];
      return policies.length === 0 ? [NO_POLICY] : [...new Set(policies)];
    }),
  };
}

function distinct(values: ReadonlyArray<string | undefined>): string[] {
  return [...new Set(values.filter((value): value is string => value !== undefined))].sort();
}
