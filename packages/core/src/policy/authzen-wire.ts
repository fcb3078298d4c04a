/**
 * The OpenID AuthZEN Authorization API 1.0 wire format, in one place for both sides: the
 * {@link AuthZenPolicyClient} puts requests on the wire and reads decisions with it, and
 * `agentgate serve` reads requests and writes decisions with it, so the two cannot drift.
 */
import { z } from "zod";
import { AgentGateError } from "../errors.js";
import type { AccessRequest } from "./access-request.js";
import { allow, type Decision, deny } from "./decision.js";

/** An AuthZEN subject or resource (§5.1, §5.2): a type, an id scoped to that type, properties. */
export interface AuthZenEntity {
  readonly type: string;
  /** Unique within `type` only: `user` "alice" and `agent` "alice" are two entities (L91). */
  readonly id: string;
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** An AuthZEN action (§5.3). */
export interface AuthZenAction {
  readonly name: string;
  readonly properties?: Readonly<Record<string, unknown>>;
}

/**
 * One AuthZEN evaluation (§6.1): what a PDP decides. Every {@link AccessRequest} is one (the
 * subject of type `agent`); a PEP of another application sends users, routes, documents.
 */
export interface AuthZenEvaluation {
  readonly subject: AuthZenEntity;
  readonly action: AuthZenAction;
  readonly resource: AuthZenEntity;
  /** OPTIONAL (§6.1): absent means no context. */
  readonly context?: Readonly<Record<string, unknown>>;
}

/** How an AccessRequest is put on the wire. */
export type AuthZenMapping = "agent" | "coaz-mcp";

/** The three batch semantics of AuthZEN §7.1.2. */
export type EvaluationsSemantic = "execute_all" | "deny_on_first_deny" | "permit_on_first_permit";

/** The most evaluations one batch request may carry. */
export const MAX_EVALUATIONS = 100;

const NAME = z.string().min(1).max(1024);
const properties = z.record(z.string(), z.unknown());
const MEMBERS = new Set(["type", "id", "properties"]);

/**
 * Members beside `type`, `id` and `properties` are read as properties: AuthZEN 1.0 draft 00 put
 * attributes there (`{"type":"todo","id":"1","ownerID":"rick"}`), and PEPs written to it still do.
 * `properties` wins where both name the same attribute.
 */
function withDraftMembers<T extends { properties?: Record<string, unknown> | undefined }>(
  entity: T,
): T {
  let extra: Record<string, unknown> | undefined;
  for (const key of Object.keys(entity)) {
    if (MEMBERS.has(key)) continue;
    extra ??= {};
    extra[key] = (entity as Record<string, unknown>)[key];
  }
  if (extra === undefined) return entity;
  const out: Record<string, unknown> = {};
  for (const key of MEMBERS) if (key in entity) out[key] = (entity as Record<string, unknown>)[key];
  out.properties = { ...extra, ...entity.properties };
  return out as T;
}

/** The wire schema of a subject or resource. */
export const authZenEntitySchema = z
  .looseObject({ type: NAME, id: NAME, properties: properties.optional() })
  .transform(withDraftMembers);

/** The wire schema of an action. */
export const authZenActionSchema = z.looseObject({
  name: NAME,
  properties: properties.optional(),
});

/** The wire schema of one evaluation request (§6.1); unknown members are ignored (§10.1.1). */
export const authZenEvaluationSchema = z.looseObject({
  subject: authZenEntitySchema,
  action: authZenActionSchema,
  resource: authZenEntitySchema,
  context: properties.optional(),
});

/**
 * The wire schema of a batch request (§7.1). The items are checked one by one, after the
 * top-level defaults are merged in, so that a malformed item denies only itself.
 */
export const authZenEvaluationsSchema = z.looseObject({
  subject: authZenEntitySchema.optional(),
  action: authZenActionSchema.optional(),
  resource: authZenEntitySchema.optional(),
  context: properties.optional(),
  evaluations: z.array(z.unknown()).max(MAX_EVALUATIONS).optional(),
  options: z
    .looseObject({
      evaluations_semantic: z
        .enum(["execute_all", "deny_on_first_deny", "permit_on_first_permit"])
        .optional(),
    })
    .optional(),
});

/** A parsed batch request. */
export type AuthZenEvaluations = z.infer<typeof authZenEvaluationsSchema>;

/** One item of a batch: the evaluation to decide, or why it cannot be decided. */
export type BatchItem =
  | { readonly evaluation: AuthZenEvaluation }
  | { readonly error: { readonly status: 400; readonly message: string } };

/**
 * The evaluations of a batch (§7.1.1): each item with the top-level `subject`, `action`,
 * `resource` and `context` as defaults (an item's own key replaces the default whole). Without
 * `evaluations`, or with an empty array, the request is the single evaluation it describes
 * (see {@link isSingleEvaluation}) and answered as one.
 */
export function batchItems(batch: AuthZenEvaluations): BatchItem[] {
  return (batch.evaluations ?? []).map((item) => {
    if (typeof item !== "object" || item === null || Array.isArray(item))
      return { error: { status: 400, message: "an evaluation must be a JSON object" } };
    const own = item as Record<string, unknown>;
    const merged = {
      subject: own.subject ?? batch.subject,
      action: own.action ?? batch.action,
      resource: own.resource ?? batch.resource,
      context: own.context ?? batch.context,
    };
    const parsed = authZenEvaluationSchema.safeParse(merged);
    if (!parsed.success) return { error: { status: 400, message: describeIssue(parsed.error) } };
    return { evaluation: parsed.data as AuthZenEvaluation };
  });
}

/** True when a batch request carries no `evaluations`: it is then one evaluation (§7.1). */
export function isSingleEvaluation(batch: AuthZenEvaluations): boolean {
  return batch.evaluations === undefined || batch.evaluations.length === 0;
}

/** A short description of the first problem zod found, naming the member. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "invalid request";
  const path = issue.path.join(".");
  return path === "" ? issue.message : `${path}: ${issue.message}`;
}

/** The AuthZEN decision object (§5.5) for a decision; the reasons follow §5.5.1's examples. */
export function decisionToWire(decision: Decision): {
  decision: boolean;
  context: Record<string, unknown>;
} {
  return {
    decision: decision.allowed,
    context: {
      reason_admin: { en: decision.reason },
      reason_user: { en: decision.safeReason },
      policies: decision.policies,
      obligations: decision.obligations,
    },
  };
}

/** The decision of a batch item that could not be evaluated: a deny, with the error (§7.2.1). */
export function errorToWire(error: { status: number; message: string }): {
  decision: false;
  context: Record<string, unknown>;
} {
  return {
    decision: false,
    context: { error: { status: error.status, message: error.message } },
  };
}

/**
 * An AccessRequest as an AuthZEN evaluation. `agent` (default): as it is, the acting agent the
 * subject. `coaz-mcp`: the subject is the principal (the human, or the agent acting for
 * itself), typed `user` or `agent`, and the acting agent goes to `context.agent`.
 */
export function accessRequestToWire(
  request: AccessRequest,
  mapping: AuthZenMapping = "agent",
): AuthZenEvaluation {
  if (mapping !== "coaz-mcp") return request;
  const { principal, principalType } = request.subject.properties;
  return {
    subject: { type: principalType === "user" ? "user" : "agent", id: principal },
    action: request.action,
    resource: request.resource,
    context: {
      ...request.context,
      agent: { id: request.subject.id, ...request.subject.properties },
    },
  };
}

/**
 * Reads a PDP's decision object. Anything without a boolean `decision` rejects with
 * `policy_unavailable` (fail closed); `context.reason_admin` / `context.reason_user` (strings or
 * objects keyed by language) become the reasons, `context.policies` and `context.obligations`
 * (strings) the policies and obligations.
 */
export function decisionFromWire(body: unknown): Decision {
  if (
    typeof body !== "object" ||
    body === null ||
    typeof (body as { decision?: unknown }).decision !== "boolean"
  ) {
    throw new AgentGateError("policy_unavailable", "The PDP's answer has no boolean decision.");
  }
  const { decision, context } = body as { decision: boolean; context?: Record<string, unknown> };
  const admin = reasonText(context?.reason_admin);
  const user = reasonText(context?.reason_user);
  const obligations = strings(context?.obligations);
  const policies = strings(context?.policies);
  const options = { policies, obligations, ...(user === undefined ? {} : { safeReason: user }) };
  return decision
    ? allow(admin ?? "permitted by the PDP", options)
    : deny(admin ?? "denied by the PDP", options);
}

/** Reads a batch answer (§7.2): exactly `count` decisions, or `policy_unavailable`. */
export function decisionsFromWire(body: unknown, count: number): Decision[] {
  const evaluations = (body as { evaluations?: unknown } | null)?.evaluations;
  if (!Array.isArray(evaluations) || evaluations.length !== count) {
    throw new AgentGateError(
      "policy_unavailable",
      "The PDP's batch answer does not match the request.",
    );
  }
  return evaluations.map(decisionFromWire);
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === "string")
    : [];
}

/** AuthZEN reasons are strings or objects keyed by language (`{ "en": "…" }`). */
function reasonText(value: unknown): string | undefined {
  if (typeof value === "string") return value.slice(0, 1024);
  if (typeof value === "object" && value !== null) {
    const first = Object.values(value).find((entry) => typeof entry === "string");
    return typeof first === "string" ? first.slice(0, 1024) : undefined;
  }
  return undefined;
}
