import {
  type AgentRecord,
  type AuditRecord,
  isKnownObligation,
  type PolicyClient,
} from "@agentgate/core";
import { type RecordedDecision, recordedDecision, requestFromRecord } from "./recorded-call.js";

/** One recorded call decided again by a candidate policy set. */
export interface ReplayedCall {
  /** The record's sequence number in its chain. */
  readonly seq: number;
  readonly time: string;
  readonly agent: string;
  readonly tool: string;
  readonly action: string;
  /** The resource as recorded (`type` and `id`) with the business resources it named. */
  readonly resource: string;
  /** What policy decided when the call was made. */
  readonly recorded: RecordedDecision;
  /** What the candidate set decides (an obligation the gate cannot honour denies, as at the gate). */
  readonly replayed: RecordedDecision;
  /** `allow→deny` or `deny→allow`; absent when the decision stays the same. */
  readonly change?: "allow→deny" | "deny→allow";
  /** The policies that decided when the call was made, and those that decide now. */
  readonly recordedPolicies: readonly string[];
  readonly replayedPolicies: readonly string[];
  /** The candidate's reason. */
  readonly reason: string;
}

/** What {@link replayCalls} found. */
export interface Replay {
  /** Every replayable call, in log order. */
  readonly calls: readonly ReplayedCall[];
  /** The calls whose decision would change. */
  readonly changes: readonly ReplayedCall[];
  /** Records policy never decided (refused before policy) or that are no decision at all. */
  readonly skipped: number;
}

/** How {@link replayCalls} rebuilds each request. */
export interface ReplayOptions {
  readonly timeZone: string;
  readonly environment: string;
  /** The registry record of an agent, for supervision, team and labels. */
  readonly registered?: (agent: string) => AgentRecord | undefined;
}

/**
 * Shadow mode: decides every recorded call again with `policy` (a candidate set) and lists the
 * calls whose decision would change, before anyone switches. Replays `decision` and `check`
 * records that policy decided; see {@link requestFromRecord} for what the log cannot tell.
 */
export async function replayCalls(
  records: readonly AuditRecord[],
  policy: PolicyClient,
  options: ReplayOptions,
): Promise<Replay> {
  const calls: ReplayedCall[] = [];
  let skipped = 0;
  for (const record of records) {
    const recorded = recordedDecision(record);
    const registered = record.agent === undefined ? undefined : options.registered?.(record.agent);
    const request = requestFromRecord(record, {
      timeZone: options.timeZone,
      environment: options.environment,
      ...(registered === undefined ? {} : { registered }),
    });
    if (recorded === undefined || request === undefined) {
      skipped++;
      continue;
    }
    const decision = await policy.evaluate(request);
    const replayed: RecordedDecision =
      decision.allowed && decision.obligations.every(isKnownObligation) ? "allow" : "deny";
    const properties = Object.entries(request.context.resources)
      .map(([type, value]) => `${type}=${value}`)
      .join(",");
    calls.push({
      seq: record.seq,
      time: record.time,
      agent: request.subject.id,
      tool:
        request.action.properties.server === undefined
          ? request.action.properties.tool
          : `${request.action.properties.server}/${request.action.properties.tool}`,
      action: request.action.name,
      resource: `${request.resource.type}:${request.resource.id}${properties === "" ? "" : ` (${properties})`}`,
      recorded,
      replayed,
      ...(recorded === replayed
        ? {}
        : { change: recorded === "allow" ? "allow→deny" : "deny→allow" }),
      recordedPolicies: record.decision?.policies ?? [],
      replayedPolicies: decision.policies,
      reason: decision.reason,
    });
  }
  return { calls, changes: calls.filter((call) => call.change !== undefined), skipped };
}
