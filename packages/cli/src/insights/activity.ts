import { isCallDecision } from "./inventory.js";
import type { InsightRecord } from "./verified-log.js";

/** Filters of {@link filterActivity}; all optional, all must match. */
export interface ActivityFilter {
  /** The acting agent. */
  readonly agent?: string;
  /** A tool name (or `server/name`). */
  readonly tool?: string;
  /** `allowed` or `denied` (decisions), `succeeded` or `failed` (outcomes). */
  readonly outcome?: "allowed" | "denied" | "succeeded" | "failed";
  /** On whose behalf (the token's `sub`). */
  readonly principal?: string;
  /** ISO 8601, inclusive. */
  readonly from?: string;
  /** ISO 8601, exclusive. */
  readonly to?: string;
}

/** A tool's name as the insights show it: `server/name` when it has a server. */
export function toolLabel(record: Pick<InsightRecord, "tool">): string | undefined {
  if (record.tool === undefined) return undefined;
  return record.tool.server === undefined
    ? record.tool.name
    : `${record.tool.server}/${record.tool.name}`;
}

/** What became of a record: its decision or its outcome, when it has one. */
export function outcomeOf(
  record: Pick<InsightRecord, "decision" | "outcome" | "approval">,
): "allowed" | "denied" | "succeeded" | "failed" | "approved" | "refused" | undefined {
  if (record.decision !== undefined) return record.decision.allowed ? "allowed" : "denied";
  if (record.outcome !== undefined) return record.outcome.status;
  if (record.approval !== undefined) return record.approval.approved ? "approved" : "refused";
  return undefined;
}

/**
 * The records matching `filter`, in the order given (the log's time order).
 *
 * @example
 * ```ts
 * const denied = filterActivity(log.records, { agent: "spiffe://acme.example/agent/support", outcome: "denied" });
 * ```
 */
export function filterActivity(
  records: readonly InsightRecord[],
  filter: ActivityFilter,
): InsightRecord[] {
  const from = filter.from === undefined ? undefined : Date.parse(filter.from);
  const to = filter.to === undefined ? undefined : Date.parse(filter.to);
  return records.filter((record) => {
    if (filter.agent !== undefined && record.agent !== filter.agent) return false;
    if (
      filter.tool !== undefined &&
      toolLabel(record) !== filter.tool &&
      record.tool?.name !== filter.tool
    )
      return false;
    if (filter.outcome !== undefined && outcomeOf(record) !== filter.outcome) return false;
    if (filter.principal !== undefined && record.principal !== filter.principal) return false;
    const time = Date.parse(record.time);
    if (from !== undefined && time < from) return false;
    if (to !== undefined && time >= to) return false;
    return true;
  });
}

/** The values each activity filter can take, from the records. */
export interface ActivityFacets {
  readonly agents: readonly string[];
  readonly tools: readonly string[];
  readonly principals: readonly string[];
}

/** Every agent, tool and principal the records name, sorted: the choices of the filters. */
export function activityFacets(records: readonly InsightRecord[]): ActivityFacets {
  const agents = new Set<string>();
  const tools = new Set<string>();
  const principals = new Set<string>();
  for (const record of records) {
    if (record.agent !== undefined) agents.add(record.agent);
    const tool = toolLabel(record);
    if (tool !== undefined) tools.add(tool);
    if (record.principal !== undefined) principals.add(record.principal);
  }
  return {
    agents: [...agents].sort(),
    tools: [...tools].sort(),
    principals: [...principals].sort(),
  };
}

/** Calls and denials per agent per time bucket. */
export interface ActivitySeries {
  /** Bucket starts, epoch seconds, ascending. */
  readonly buckets: readonly number[];
  /** Bucket width in seconds. */
  readonly bucketSeconds: number;
  readonly agents: ReadonlyArray<{
    readonly agent: string;
    /** Calls decided in each bucket (same length as `buckets`). */
    readonly calls: readonly number[];
    /** Of those, denied. */
    readonly denials: readonly number[];
  }>;
}

/**
 * Calls and denials over time per agent: decisions counted in buckets of `bucketSeconds`
 * (default: an hour when the records span under three days, else a day), every bucket between
 * the first and the last present (zeros included) so a chart shows quiet periods as quiet.
 * At most 1,000 buckets: a wider span gets wider buckets.
 */
export function activitySeries(
  records: readonly InsightRecord[],
  bucketSeconds?: number,
): ActivitySeries {
  const calls = records.filter(isCallDecision);
  if (calls.length === 0) return { buckets: [], bucketSeconds: bucketSeconds ?? 3600, agents: [] };
  const times = calls.map((record) => Math.floor(Date.parse(record.time) / 1000));
  const first = Math.min(...times);
  const last = Math.max(...times);
  let width = bucketSeconds ?? (last - first < 3 * 86_400 ? 3600 : 86_400);
  while ((last - first) / width > 1000) width *= 2;
  const start = Math.floor(first / width) * width;
  const count = Math.floor((last - start) / width) + 1;
  const buckets = Array.from({ length: count }, (_, index) => start + index * width);
  const perAgent = new Map<string, { calls: number[]; denials: number[] }>();
  calls.forEach((record, index) => {
    const agent = record.agent ?? "";
    let series = perAgent.get(agent);
    if (series === undefined) {
      series = { calls: new Array(count).fill(0), denials: new Array(count).fill(0) };
      perAgent.set(agent, series);
    }
    const bucket = Math.floor(((times[index] ?? start) - start) / width);
    series.calls[bucket] = (series.calls[bucket] ?? 0) + 1;
    if (record.decision?.allowed === false)
      series.denials[bucket] = (series.denials[bucket] ?? 0) + 1;
  });
  return {
    buckets,
    bucketSeconds: width,
    agents: [...perAgent.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([agent, series]) => ({ agent, ...series })),
  };
}
