import * as z from "zod";
import type { Clock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { deepFreeze } from "../internal/bounded-copy.js";
import { AgentId } from "./agent-id.js";

/** How much a human watches an agent: `supervised` agents need approval for risky actions. */
export type Supervision = "autonomous" | "supervised" | "suspended";

/** The shape of one scope: lowercase, no spaces (scopes travel space-separated, RFC 8693 §4.2). */
export const SCOPE_PATTERN = /^[a-z0-9][a-z0-9:._/-]{0,127}$/;

const scopeSchema = z.string().regex(SCOPE_PATTERN, "scopes are 1-128 of [a-z0-9:._/-]");
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // Control characters in names would let a record forge lines in terminal tables and logs.
    .refine((value) => !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value), {
      message: "control or invisible characters are not allowed",
    });

/** The zod schema of an {@link AgentRecord}, used to validate every record read or written. */
export const agentRecordSchema = z.strictObject({
  id: z.string().refine((value) => AgentId.isValid(value), { message: "not a valid agent id" }),
  displayName: text(128),
  owner: text(256),
  team: text(128).optional(),
  purpose: text(1024).optional(),
  supervision: z.enum(["autonomous", "supervised", "suspended"]),
  suspendedFrom: z.enum(["autonomous", "supervised"]).optional(),
  labels: z.record(z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,62}$/), text(256)),
  maxScopes: z.array(scopeSchema).max(256),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().optional(),
});

/**
 * A registered agent: who it is, who is accountable for it, what it is for, how closely it is
 * supervised and the widest set of scopes it may ever hold.
 */
export interface AgentRecord {
  /** The canonical agent id (`spiffe://<trust-domain>/agent/<name>`). */
  readonly id: string;
  /** A human-friendly name. */
  readonly displayName: string;
  /** The accountable human or team (required: every agent has an owner). */
  readonly owner: string;
  /** The team the agent belongs to. */
  readonly team?: string | undefined;
  /** What the agent is for, in a sentence. */
  readonly purpose?: string | undefined;
  /** Supervision state. */
  readonly supervision: Supervision;
  /**
   * The state a suspended agent had before {@link suspendAgent}, which {@link resumeAgent}
   * restores. Absent on records written before it existed and on agents registered suspended.
   */
  readonly suspendedFrom?: Exclude<Supervision, "suspended"> | undefined;
  /** Free-form labels (`env: prod`). */
  readonly labels: Readonly<Record<string, string>>;
  /** The upper bound of scopes any token of this agent may carry. */
  readonly maxScopes: readonly string[];
  /** ISO 8601 creation time. */
  readonly createdAt: string;
  /** ISO 8601 time after which the agent gets no tokens and is denied. */
  readonly expiresAt?: string | undefined;
}

/** What {@link defineAgent} needs; the rest has defaults. */
export interface AgentDefinition {
  readonly id: string | AgentId;
  readonly owner: string;
  readonly displayName?: string;
  readonly team?: string;
  readonly purpose?: string;
  readonly supervision?: Supervision;
  readonly labels?: Readonly<Record<string, string>>;
  readonly maxScopes?: readonly string[];
  readonly expiresAt?: string | Date;
}

/**
 * Builds a validated {@link AgentRecord}. Throws `invalid_agent_record` (or `invalid_agent_id`)
 * naming the first bad field.
 *
 * @example
 * ```ts
 * const record = defineAgent({ id: "spiffe://acme.example/agent/support", owner: "alice@acme.example",
 *   maxScopes: ["crm:read"] });
 * ```
 */
export function defineAgent(
  definition: AgentDefinition,
  clock: Clock = { now: Date.now },
): AgentRecord {
  const id = typeof definition.id === "string" ? AgentId.parse(definition.id) : definition.id;
  return parseAgentRecord({
    id: id.toString(),
    displayName: definition.displayName ?? id.name,
    owner: definition.owner,
    team: definition.team,
    purpose: definition.purpose,
    supervision: definition.supervision ?? "autonomous",
    labels: { ...definition.labels },
    maxScopes: [...new Set(definition.maxScopes ?? [])],
    createdAt: new Date(clock.now()).toISOString(),
    expiresAt:
      definition.expiresAt instanceof Date
        ? definition.expiresAt.toISOString()
        : definition.expiresAt,
  });
}

/** Validates unknown input as an {@link AgentRecord}; throws `invalid_agent_record`. */
export function parseAgentRecord(input: unknown): AgentRecord {
  const result = agentRecordSchema.safeParse(stripUndefined(input));
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join(".") || "record";
    throw new AgentGateError(
      "invalid_agent_record",
      `Invalid agent record: ${where}: ${issue?.message}.`,
    );
  }
  // Frozen: registries hand the same record to every call, and the gate reuses what it built
  // from an unchanged record (a record is changed by putting a new one, never in place).
  return deepFreeze(result.data);
}

/** True when the record's `expiresAt` has passed. */
export function isAgentExpired(record: AgentRecord, clock: Clock): boolean {
  return record.expiresAt !== undefined && Date.parse(record.expiresAt) <= clock.now();
}

function stripUndefined(input: unknown): unknown {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
}
