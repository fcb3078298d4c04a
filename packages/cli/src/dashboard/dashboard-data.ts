import type { AgentRecord, PolicyClient } from "@agentgate/core";
import {
  activityFacets,
  activitySeries,
  agentInventory,
  type Finding,
  filterActivity,
  groupDenials,
  type InsightRecord,
  isCallDecision,
  leastPrivilegeFindings,
  outcomeOf,
  type ReadVerifiedLogOptions,
  readVerifiedLog,
  toolLabel,
  type VerifiedLog,
} from "../insights/index.js";
import type {
  Activity,
  ActivityQuery,
  Denials,
  EventDetail,
  EventSummary,
  Findings,
  Integrity,
  Inventory,
  Series,
  Summary,
} from "./api-schema.js";

/** Where the dashboard reads from: the log, the registry, revocations and policies. */
export interface DashboardSource {
  readonly trustDomain: string;
  /** The audit log directory. */
  readonly audit: string;
  /** How to verify it (witness, pinned checkpoint key); `witnessName` names the witness shown. */
  readonly verify?: ReadVerifiedLogOptions;
  readonly agents: () => Promise<readonly AgentRecord[]>;
  readonly revoked?: (agent: string) => boolean;
  /** The gate's Cedar policies, asked for permitted-but-unused tools and needed scopes. */
  readonly policy?: PolicyClient;
  /** The gate's time zone and environment (config.json). */
  readonly timeZone?: string;
  readonly environment?: string;
  /** Dormancy window of the findings. Default 30 days. */
  readonly dormantDays?: number;
  /** Known owners (from the IdP or an HR export); without it only empty owners are unknown. */
  readonly knownOwners?: ReadonlySet<string>;
  /** The clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/** Everything the pages show, computed from one verification of the log. */
export interface DashboardSnapshot {
  readonly log: VerifiedLog;
  readonly agents: readonly AgentRecord[];
  readonly findings: readonly Finding[];
  readonly generatedAt: string;
}

/**
 * Loads a fresh snapshot per request (the log is verified again each time, so a page never shows
 * a record that no longer verifies); requests that arrive while a load runs share it.
 */
export function snapshotLoader(source: DashboardSource): () => Promise<DashboardSnapshot> {
  let running: Promise<DashboardSnapshot> | undefined;
  const load = async (): Promise<DashboardSnapshot> => {
    const now = (source.now ?? Date.now)();
    const [log, agents] = await Promise.all([
      readVerifiedLog(source.audit, source.verify ?? {}),
      source.agents(),
    ]);
    const findings = await leastPrivilegeFindings(log.records, agents, {
      ...(source.policy === undefined ? {} : { policy: source.policy }),
      settings: {
        timeZone: source.timeZone ?? "UTC",
        environment: source.environment ?? "development",
      },
      now,
      dormantDays: source.dormantDays ?? 30,
      ...(source.knownOwners === undefined ? {} : { knownOwners: source.knownOwners }),
      ...(source.revoked === undefined ? {} : { revoked: source.revoked }),
    });
    return { log, agents, findings, generatedAt: new Date(now).toISOString() };
  };
  return () => {
    running ??= load().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/** A record as a line of the timeline. */
export function summarise(record: InsightRecord): EventSummary {
  const tool = toolLabel(record);
  const outcome = outcomeOf(record);
  const code = record.decision?.code ?? record.outcome?.errorCode;
  const reason = record.decision?.reason ?? record.approval?.reason;
  return {
    id: record.id,
    seq: record.seq,
    writer: record.writer,
    time: record.time,
    type: record.type,
    ...(record.agent === undefined ? {} : { agent: record.agent }),
    ...(record.principal === undefined ? {} : { principal: record.principal }),
    ...(tool === undefined ? {} : { tool }),
    ...(record.action === undefined ? {} : { action: record.action }),
    ...(outcome === undefined ? {} : { outcome }),
    ...(code === undefined ? {} : { code }),
    ...(reason === undefined ? {} : { reason }),
    delegated: (record.chain?.length ?? 0) > 1,
  };
}

/** The integrity page: every chain, whether all verify and all are anchored. */
export function integrityOf(snapshot: DashboardSnapshot, witness?: string): Integrity {
  const { chains } = snapshot.log;
  return {
    ok: snapshot.log.ok,
    anchored: chains.length > 0 && chains.every((chain) => chain.anchored),
    ...(witness === undefined ? {} : { witness }),
    chains: [...chains],
  };
}

/** The header of every page. */
export function summaryOf(
  snapshot: DashboardSnapshot,
  source: DashboardSource,
  witness?: string,
): Summary {
  const calls = snapshot.log.records.filter(isCallDecision);
  return {
    trustDomain: source.trustDomain,
    generatedAt: snapshot.generatedAt,
    records: snapshot.log.records.length,
    agents: snapshot.agents.length,
    calls: calls.length,
    denials: calls.filter((record) => record.decision?.allowed === false).length,
    findings: snapshot.findings.length,
    integrity: integrityOf(snapshot, witness),
  };
}

/** The inventory page. */
export function inventoryOf(snapshot: DashboardSnapshot, source: DashboardSource): Inventory {
  return {
    agents: agentInventory(
      snapshot.log.records,
      snapshot.agents,
      source.revoked === undefined ? {} : { revoked: source.revoked },
    ).map((entry) => ({ ...entry, scopesGranted: [...entry.scopesGranted] })),
  };
}

/** The timeline: matching events newest first, a page of them, and the filters' choices. */
export function activityOf(snapshot: DashboardSnapshot, query: ActivityQuery): Activity {
  const { limit, offset, ...filter } = query;
  const matching = filterActivity(snapshot.log.records, filter).reverse();
  const facets = activityFacets(snapshot.log.records);
  return {
    total: matching.length,
    offset,
    events: matching.slice(offset, offset + limit).map(summarise),
    facets: {
      agents: [...facets.agents],
      tools: [...facets.tools],
      principals: [...facets.principals],
    },
  };
}

/** One event with its delegation graph and the other events of its call; `undefined` if none. */
export function eventOf(snapshot: DashboardSnapshot, id: string): EventDetail | undefined {
  const record = snapshot.log.records.find((candidate) => candidate.id === id);
  if (record === undefined) return undefined;
  const chain = record.chain ?? (record.agent === undefined ? [] : [record.agent]);
  const nodes = chain.map((member, index) => ({
    id: member,
    label: member.startsWith("spiffe://") ? member.slice(member.lastIndexOf("/") + 1) : member,
    role:
      index === chain.length - 1
        ? ("actor" as const)
        : index === 0
          ? ("principal" as const)
          : ("delegate" as const),
    kind: member.startsWith("spiffe://") ? ("agent" as const) : ("user" as const),
  }));
  const edges = chain.slice(1).map((member, index) => ({
    from: chain[index] ?? "",
    to: member,
    label: "delegated to",
  }));
  const related =
    record.invocationId === undefined
      ? []
      : snapshot.log.records
          .filter((other) => other.invocationId === record.invocationId && other.id !== record.id)
          .map(summarise);
  const { writer: _writer, ...stored } = record;
  return { summary: summarise(record), record: { ...stored }, graph: { nodes, edges }, related };
}

/** The denials page. */
export function denialsOf(snapshot: DashboardSnapshot): Denials {
  const summary = groupDenials(snapshot.log.records);
  const plain = (groups: typeof summary.byReason) =>
    groups.map((group) => ({
      ...group,
      codes: [...group.codes],
      agents: [...group.agents],
      tools: [...group.tools],
      events: [...group.events],
    }));
  return {
    total: summary.total,
    byReason: plain(summary.byReason),
    byPolicy: plain(summary.byPolicy),
  };
}

/** The least-privilege page. */
export function findingsOf(snapshot: DashboardSnapshot, source: DashboardSource): Findings {
  return {
    policiesAsked: source.policy !== undefined,
    dormantDays: source.dormantDays ?? 30,
    findings: snapshot.findings.map(({ policies, ...finding }) => ({
      ...finding,
      ...(policies === undefined ? {} : { policies: [...policies] }),
    })),
  };
}

/** The charts: calls and denials over time per agent. */
export function seriesOf(snapshot: DashboardSnapshot): Series {
  const series = activitySeries(snapshot.log.records);
  return {
    buckets: [...series.buckets],
    bucketSeconds: series.bucketSeconds,
    agents: series.agents.map((entry) => ({
      agent: entry.agent,
      calls: [...entry.calls],
      denials: [...entry.denials],
    })),
  };
}
