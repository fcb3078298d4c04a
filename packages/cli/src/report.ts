import type { AgentRecord, AuditRecord } from "@agentgate/core";
import { readAuditLog } from "@agentgate/core/node";

/** One agent's line in the access report. */
export interface AgentReportRow {
  readonly agent: string;
  readonly owner: string;
  readonly supervision: string;
  /** The agent is on the revocation list: every gate denies it for good. */
  readonly revoked: boolean;
  readonly calls: number;
  readonly denials: number;
  readonly tools: string[];
  readonly scopesGranted: string[];
  /** Granted in the registry, never carried by a token this agent presented in the period. */
  readonly scopesNeverPresented: string[];
  readonly lastSeen: string | undefined;
  readonly findings: string[];
}

/** Options of {@link accessReport}. */
export interface ReportOptions {
  /** ISO 8601 start of the period. Default: the log's beginning. */
  readonly from?: string;
  /** ISO 8601 end of the period. Default: now. */
  readonly to?: string;
  /** An agent with no call for this many days is reported idle. Default 30. */
  readonly idleDays?: number;
  /** A day with at least this many denials for one agent is a spike. Default 10. */
  readonly spikeDenials?: number;
  /** The time idle days are counted to, in epoch milliseconds. Default: `Date.now()`. */
  readonly now?: number;
  /** Whether an agent is revoked (e.g. the directory's revocation list). Default: none is. */
  readonly revoked?: (agent: string) => boolean;
}

/**
 * The inventory a SOC 2 or HIPAA reviewer asks for, from the registry and the audit log: every
 * agent with its owner and supervision state, its calls, denials, tools and scopes over the
 * period, whether it is revoked, and the findings: scopes granted but never presented (least
 * privilege), no owner, idle agents, denied-call spikes, agents seen in the log but not
 * registered. It does not verify the log: callers do that first (`agentgate audit report` does).
 */
export async function accessReport(
  auditDirectory: string,
  agents: readonly AgentRecord[],
  options: ReportOptions = {},
): Promise<AgentReportRow[]> {
  const stats = new Map<
    string,
    {
      calls: number;
      denials: number;
      tools: Set<string>;
      scopes: Set<string>;
      last?: string;
      denialsByDay: Map<string, number>;
    }
  >();
  const statsOf = (agent: string) => {
    let entry = stats.get(agent);
    if (entry === undefined) {
      entry = {
        calls: 0,
        denials: 0,
        tools: new Set(),
        scopes: new Set(),
        denialsByDay: new Map(),
      };
      stats.set(agent, entry);
    }
    return entry;
  };
  const query = {
    type: "decision" as const,
    ...(options.from ? { from: options.from } : {}),
    ...(options.to ? { to: options.to } : {}),
  };
  for await (const record of readAuditLog(auditDirectory, query) as AsyncGenerator<AuditRecord>) {
    if (record.agent === undefined) continue;
    const entry = statsOf(record.agent);
    entry.calls++;
    if (record.tool?.name)
      entry.tools.add(
        record.tool.server ? `${record.tool.server}/${record.tool.name}` : record.tool.name,
      );
    for (const scope of record.scopes ?? []) entry.scopes.add(scope);
    entry.last = record.time;
    if (record.decision?.allowed === false) {
      entry.denials++;
      const day = record.time.slice(0, 10);
      entry.denialsByDay.set(day, (entry.denialsByDay.get(day) ?? 0) + 1);
    }
  }
  const now = options.now ?? Date.now();
  const idleMs = (options.idleDays ?? 30) * 86_400_000;
  const rows: AgentReportRow[] = [];
  const registered = new Set(agents.map((agent) => agent.id));
  const isRevoked = options.revoked ?? (() => false);
  for (const agent of agents) {
    const entry = stats.get(agent.id);
    const neverPresented = agent.maxScopes.filter((scope) => !entry?.scopes.has(scope));
    const findings: string[] = [];
    if (neverPresented.length > 0)
      findings.push(`least privilege: ${neverPresented.join(" ")} granted but never used`);
    if (agent.owner.trim() === "") findings.push("no owner");
    const last = entry?.last ?? agent.createdAt;
    if (now - Date.parse(last) > idleMs) findings.push(`idle since ${last.slice(0, 10)}`);
    for (const [day, count] of entry?.denialsByDay ?? []) {
      if (count >= (options.spikeDenials ?? 10))
        findings.push(`denied-call spike: ${count} on ${day}`);
    }
    rows.push({
      agent: agent.id,
      owner: agent.owner,
      supervision: agent.supervision,
      revoked: isRevoked(agent.id),
      calls: entry?.calls ?? 0,
      denials: entry?.denials ?? 0,
      tools: [...(entry?.tools ?? [])].sort(),
      scopesGranted: [...agent.maxScopes],
      scopesNeverPresented: neverPresented,
      lastSeen: entry?.last,
      findings,
    });
  }
  for (const [agent, entry] of stats) {
    if (registered.has(agent)) continue;
    rows.push({
      agent,
      owner: "",
      supervision: "unregistered",
      revoked: isRevoked(agent),
      calls: entry.calls,
      denials: entry.denials,
      tools: [...entry.tools].sort(),
      scopesGranted: [],
      scopesNeverPresented: [],
      lastSeen: entry.last,
      findings: ["not in the registry", "no owner"],
    });
  }
  return rows;
}
