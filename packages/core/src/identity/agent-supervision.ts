import { AgentGateError } from "../errors.js";
import { type AgentRecord, parseAgentRecord, type Supervision } from "./agent-record.js";

/**
 * The record of `record`'s agent suspended: every gate denies it (`agent_suspended`) until it is
 * resumed. The state it had is kept in `suspendedFrom`, so {@link resumeAgent} gives a
 * supervised agent back its supervision rather than making it autonomous. Suspending a
 * suspended agent changes nothing.
 *
 * @example
 * ```ts
 * await registry.put(suspendAgent(await registry.get(id)));
 * ```
 */
export function suspendAgent(record: AgentRecord): AgentRecord {
  if (record.supervision === "suspended") return record;
  return parseAgentRecord({
    ...record,
    supervision: "suspended",
    suspendedFrom: record.supervision,
  });
}

/**
 * The record of a suspended agent resumed: back to the state it had before {@link suspendAgent}
 * (its `suspendedFrom`), or to `to` when given. When neither is known (an agent registered
 * suspended, or suspended before `suspendedFrom` existed) it resumes `supervised`, the closer
 * watch: resuming never silently loosens supervision. Throws `invalid_agent_record` when the
 * agent is not suspended.
 *
 * @example
 * ```ts
 * await registry.put(resumeAgent(await registry.get(id)));
 * ```
 */
export function resumeAgent(
  record: AgentRecord,
  to?: Exclude<Supervision, "suspended">,
): AgentRecord {
  if (record.supervision !== "suspended") {
    throw new AgentGateError(
      "invalid_agent_record",
      `Agent ${record.id} is not suspended (it is ${record.supervision}).`,
    );
  }
  const { suspendedFrom, ...rest } = record;
  return parseAgentRecord({ ...rest, supervision: to ?? suspendedFrom ?? "supervised" });
}
