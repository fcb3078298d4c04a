import { z } from "zod";

// The dashboard's JSON API, one schema per answer. The server builds answers of these types; the
// tests parse every answer with them; the browser app imports the types only (no zod in the page).

const text = z.string();

/** One chain's integrity (see `ChainIntegrity` in insights). */
export const chainIntegritySchema = z.object({
  writer: text,
  ok: z.boolean(),
  records: z.number().int().nonnegative(),
  verifiedThroughSeq: z.number().int().nonnegative().optional(),
  firstBadSeq: z.number().int().nonnegative().optional(),
  reason: text.optional(),
  check: text.optional(),
  anchored: z.boolean(),
  notice: text.optional(),
  checkpoint: z
    .object({
      size: z.number().int().nonnegative(),
      signedBy: z.enum(["writer", "witness"]),
      time: text.optional(),
      witness: text.optional(),
    })
    .optional(),
  unanchoredRecords: z.number().int().nonnegative().optional(),
});

/** `GET /api/integrity`: every chain verified, and whether a witness anchors them. */
export const integritySchema = z.object({
  ok: z.boolean(),
  /** Every chain is anchored by a witness's cosignature. */
  anchored: z.boolean(),
  /** The witness configured (its URL), when there is one. */
  witness: text.optional(),
  chains: z.array(chainIntegritySchema),
});
/** The answer of `GET /api/integrity`. */
export type Integrity = z.infer<typeof integritySchema>;

/** `GET /api/summary`: what every page's header shows. */
export const summarySchema = z.object({
  trustDomain: text,
  generatedAt: text,
  records: z.number().int().nonnegative(),
  agents: z.number().int().nonnegative(),
  calls: z.number().int().nonnegative(),
  denials: z.number().int().nonnegative(),
  findings: z.number().int().nonnegative(),
  integrity: integritySchema,
});
/** The answer of `GET /api/summary`. */
export type Summary = z.infer<typeof summarySchema>;

/** One agent of `GET /api/inventory`. */
export const inventoryEntrySchema = z.object({
  agent: text,
  displayName: text,
  owner: text,
  team: text.optional(),
  purpose: text.optional(),
  supervision: text,
  revoked: z.boolean(),
  createdAt: text.optional(),
  expiresAt: text.optional(),
  lastActive: text.optional(),
  calls: z.number().int().nonnegative(),
  denials: z.number().int().nonnegative(),
  delegations: z.number().int().nonnegative(),
  scopesGranted: z.array(text),
});
/** `GET /api/inventory`. */
export const inventorySchema = z.object({ agents: z.array(inventoryEntrySchema) });
/** The answer of `GET /api/inventory`. */
export type Inventory = z.infer<typeof inventorySchema>;

/** The outcomes the activity filter takes. */
export const outcomeSchema = z.enum(["allowed", "denied", "succeeded", "failed"]);

/** The query of `GET /api/activity`. */
export const activityQuerySchema = z.strictObject({
  agent: text.max(2048).optional(),
  tool: text.max(2048).optional(),
  outcome: outcomeSchema.optional(),
  principal: text.max(2048).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  offset: z.coerce.number().int().min(0).default(0),
});
/** The query of `GET /api/activity`, parsed. */
export type ActivityQuery = z.infer<typeof activityQuerySchema>;

/** One line of the timeline. */
export const eventSummarySchema = z.object({
  id: text,
  seq: z.number().int().nonnegative(),
  writer: text,
  time: text,
  type: text,
  agent: text.optional(),
  principal: text.optional(),
  tool: text.optional(),
  action: text.optional(),
  outcome: text.optional(),
  code: text.optional(),
  reason: text.optional(),
  delegated: z.boolean(),
});
/** A line of the timeline. */
export type EventSummary = z.infer<typeof eventSummarySchema>;

/** `GET /api/activity`: the matching events, newest first, and the filters' choices. */
export const activitySchema = z.object({
  total: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  events: z.array(eventSummarySchema),
  facets: z.object({ agents: z.array(text), tools: z.array(text), principals: z.array(text) }),
});
/** The answer of `GET /api/activity`. */
export type Activity = z.infer<typeof activitySchema>;

/** `GET /api/events/:id`: one record as the log holds it, its delegation graph and its call. */
export const eventDetailSchema = z.object({
  summary: eventSummarySchema,
  /** The record exactly as the log stores it (every field attacker-influenced: shown as text). */
  record: z.record(z.string(), z.unknown()),
  /** The delegation chain as a graph: principal first, acting agent last. */
  graph: z.object({
    nodes: z.array(
      z.object({
        id: text,
        label: text,
        role: z.enum(["principal", "delegate", "actor"]),
        kind: z.enum(["agent", "user"]),
      }),
    ),
    edges: z.array(z.object({ from: text, to: text, label: text })),
  }),
  /** The other events of the same tool call (decision, approval, outcome). */
  related: z.array(eventSummarySchema),
});
/** The answer of `GET /api/events/:id`. */
export type EventDetail = z.infer<typeof eventDetailSchema>;

const denialGroupSchema = z.object({
  key: text,
  count: z.number().int().nonnegative(),
  codes: z.array(text),
  agents: z.array(text),
  tools: z.array(text),
  last: text,
  events: z.array(text),
});
/** `GET /api/denials`. */
export const denialsSchema = z.object({
  total: z.number().int().nonnegative(),
  byReason: z.array(denialGroupSchema),
  byPolicy: z.array(denialGroupSchema),
});
/** The answer of `GET /api/denials`. */
export type Denials = z.infer<typeof denialsSchema>;

/** `GET /api/findings`. */
export const findingsSchema = z.object({
  /** Whether the Cedar policies were asked (permitted-but-unused tools need them). */
  policiesAsked: z.boolean(),
  dormantDays: z.number().int().positive(),
  findings: z.array(
    z.object({
      kind: z.enum([
        "unused_scope",
        "unused_permission",
        "dormant_agent",
        "unknown_owner",
        "approvals_always_granted",
      ]),
      agent: text,
      severity: z.enum(["high", "medium", "low"]),
      summary: text,
      suggestion: text,
      scope: text.optional(),
      tool: text.optional(),
      policies: z.array(text).optional(),
    }),
  ),
});
/** The answer of `GET /api/findings`. */
export type Findings = z.infer<typeof findingsSchema>;

/** `GET /api/series`: calls and denials per agent per bucket. */
export const seriesSchema = z.object({
  buckets: z.array(z.number().int()),
  bucketSeconds: z.number().int().positive(),
  agents: z.array(
    z.object({ agent: text, calls: z.array(z.number().int()), denials: z.array(z.number().int()) }),
  ),
});
/** The answer of `GET /api/series`. */
export type Series = z.infer<typeof seriesSchema>;
