/**
 * The answer to an {@link AccessRequest}. Deny is the default: anything that is not a well-formed
 * decision with `allowed: true` denies (AuthZEN 1.0 §6: `decision` is a required boolean).
 */

/**
 * Obligations a decision attaches. Known ones: `require-approval` (a human must approve before
 * the tool runs) and `redact:<path>` (mask that path of the tool's arguments in the audit log,
 * e.g. `redact:ssn` or `redact:card.number`). Unknown obligations on an allow deny, since the gate cannot honour
 * what it does not understand.
 */
export type Obligation = "require-approval" | `redact:${string}` | (string & {});

/** A policy decision. */
export interface Decision {
  readonly allowed: boolean;
  /** Ids of the policies that decided (the permitting ones on allow, the forbidding ones on deny). */
  readonly policies: readonly string[];
  /** A detailed reason for administrators and the audit log. */
  readonly reason: string;
  /** A reason safe to show to a model: no policy text, no ids, no internals. */
  readonly safeReason: string;
  readonly obligations: readonly Obligation[];
}

/** The obligations the gate knows how to honour. */
export function isKnownObligation(obligation: string): boolean {
  return obligation === "require-approval" || /^redact:[A-Za-z0-9_.[\]*-]+$/.test(obligation);
}

/** A deny decision. */
export function deny(
  reason: string,
  options: Partial<Omit<Decision, "allowed" | "reason">> = {},
): Decision {
  return decision(false, reason, "This action is not permitted.", options);
}

/** An allow decision. */
export function allow(
  reason: string,
  options: Partial<Omit<Decision, "allowed" | "reason">> = {},
): Decision {
  return decision(true, reason, "Permitted.", options);
}

function decision(
  allowed: boolean,
  reason: string,
  safeReason: string,
  options: Partial<Omit<Decision, "allowed" | "reason">>,
): Decision {
  return {
    allowed,
    policies: options.policies ?? [],
    reason,
    safeReason: options.safeReason ?? safeReason,
    obligations: options.obligations ?? [],
  };
}
