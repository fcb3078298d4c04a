import type { AgentRecord } from "../identity/agent-record.js";
import type { VerifiedAgent } from "../identity/agent-token.js";
import { freezeWithTag } from "../internal/content-key.js";
import { isoTime } from "../internal/iso-time.js";
import type {
  AccessContext,
  AccessRequest,
  AccessResource,
  AccessSubject,
  AccessTime,
} from "./access-request.js";
import type { ToolDescriptor } from "./tool-descriptor.js";

/** What {@link buildAccessRequest} needs. */
export interface RequestInput {
  readonly agent: VerifiedAgent;
  /** The acting agent's registry record (authoritative over token attributes). */
  readonly record: AgentRecord;
  /** Scopes in effect: the token's, narrowed to the record's current `maxScopes`. */
  readonly scopes: readonly string[];
  readonly tool: ToolDescriptor;
  /** Validated arguments; `undefined` when deciding without arguments. */
  readonly arguments: Readonly<Record<string, unknown>> | undefined;
  readonly time: AccessTime;
  readonly environment: string;
  /**
   * Business resources the caller resolved itself (`agentgate policy check --resource
   * customer=acme`), over those the tool's arguments name.
   */
  readonly resources?: Readonly<Record<string, string>>;
  /** Trusted integrator facts; never overrides the fields above. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/**
 * Maps a tool call to an AuthZEN-shaped {@link AccessRequest}. The subject comes only from the
 * verified token and the registry (SECURITY.md C30); the action is the tool's declared kind
 * (default `execute`); the resource is the tool (qualified by its server), with the business
 * resources its arguments name; the context carries time, environment, resources and arguments.
 */
export function buildAccessRequest(input: RequestInput): AccessRequest {
  const { agent, record, tool } = input;
  const named = input.arguments === undefined ? {} : resourcesOf(tool, input.arguments);
  const resources = input.resources === undefined ? named : { ...named, ...input.resources };
  const resource: AccessResource =
    tool.resource !== undefined && input.arguments !== undefined
      ? tool.resource(input.arguments)
      : { type: "tool", id: toolId(tool), properties: resources };
  const context: AccessContext = {
    ...input.context,
    time: input.time,
    environment: input.environment,
    resources,
    ...(input.arguments === undefined ? {} : { arguments: input.arguments }),
  };
  return {
    subject: subjectOf(agent, record, input.scopes),
    action: {
      name: tool.action ?? "execute",
      properties:
        tool.server === undefined ? { tool: tool.name } : { tool: tool.name, server: tool.server },
    },
    resource,
    context,
  };
}

interface SubjectMemo {
  readonly record: AgentRecord;
  readonly scopes: readonly string[];
  readonly subject: AccessSubject;
}

const subjects = new WeakMap<VerifiedAgent, SubjectMemo>();

/**
 * The request's subject. A verified agent calls again and again with the same token, record and
 * scopes, so its subject is built once, frozen and tagged (see `freezeWithTag`) and reused
 * while all three stay the same. Only frozen records are remembered (the embedded registries
 * freeze theirs): a record changed in place must never leave a stale subject behind.
 */
function subjectOf(
  agent: VerifiedAgent,
  record: AgentRecord,
  scopes: readonly string[],
): AccessSubject {
  const reusable =
    Object.isFrozen(agent) && Object.isFrozen(record) && Object.isFrozen(record.labels);
  if (reusable) {
    const memo = subjects.get(agent);
    if (memo !== undefined && memo.record === record && sameStrings(memo.scopes, scopes))
      return memo.subject;
  }
  const subject: AccessSubject = {
    type: "agent",
    id: agent.agent.toString(),
    properties: {
      owner: record.owner,
      supervision: record.supervision,
      ...(record.team === undefined ? {} : { team: record.team }),
      labels: { ...record.labels },
      scopes: [...scopes],
      principal: agent.principal.id,
      principalType: agent.principal.kind,
      ...(agent.principal.groups === undefined
        ? {}
        : { principalGroups: [...agent.principal.groups] }),
      chain: [...agent.chain],
      delegated: agent.delegated,
    },
  };
  if (!reusable) return subject;
  freezeWithTag(subject);
  subjects.set(agent, { record, scopes: subject.properties.scopes, subject });
  return subject;
}

function sameStrings(left: readonly string[], right: readonly string[]): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

/** A tool's resource id: its name, qualified by its server (`server/name`) when it has one. */
export function toolId(tool: Pick<ToolDescriptor, "name" | "server">): string {
  return tool.server === undefined ? tool.name : `${tool.server}/${tool.name}`;
}

function resourcesOf(
  tool: ToolDescriptor,
  args: Readonly<Record<string, unknown>>,
): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [type, path] of Object.entries(tool.resources ?? {})) {
    let value: unknown = args;
    for (const part of pathParts(path)) {
      value =
        typeof value === "object" && value !== null && Object.hasOwn(value, part)
          ? (value as Record<string, unknown>)[part]
          : undefined;
    }
    if (typeof value === "string" || typeof value === "number") found[type] = String(value);
  }
  return found;
}

const splitPaths = new Map<string, readonly string[]>();

/** `path.split(".")`, kept per path: tools name the same few paths on every call. */
function pathParts(path: string): readonly string[] {
  let parts = splitPaths.get(path);
  if (parts === undefined) {
    parts = path.split(".");
    if (splitPaths.size >= 1024) splitPaths.clear();
    splitPaths.set(path, parts);
  }
  return parts;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
type LocalFields = Pick<AccessTime, "timeZone" | "date" | "hour" | "minute" | "weekday">;
const lastMinute = new Map<string, { minute: number; fields: LocalFields }>();

/**
 * The time facts of `epochMs` in `timeZone` (an IANA name). Throws a `RangeError` for an unknown
 * zone; the gate checks its zone when it is built. The local fields change once a minute, so
 * they are computed once per minute and zone (time-zone formatting is costly on the hot path).
 */
export function accessTime(epochMs: number, timeZone: string): AccessTime {
  const minute = Math.floor(epochMs / 60_000);
  let cached = lastMinute.get(timeZone);
  if (cached === undefined || cached.minute !== minute) {
    cached = { minute, fields: localFields(epochMs, timeZone) };
    lastMinute.set(timeZone, cached);
  }
  const { fields } = cached;
  return {
    instant: isoTime(epochMs),
    epochSeconds: Math.floor(epochMs / 1000),
    timeZone: fields.timeZone,
    date: fields.date,
    hour: fields.hour,
    minute: fields.minute,
    weekday: fields.weekday,
  };
}

function localFields(epochMs: number, timeZone: string): LocalFields {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
    });
    formatters.set(timeZone, formatter);
  }
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(epochMs)) parts[part.type] = part.value;
  return {
    timeZone,
    date: `${parts.year}-${parts.month}-${parts.day}`,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? "") + 1,
  };
}

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
