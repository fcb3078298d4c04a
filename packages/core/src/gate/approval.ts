import type { AccessRequest } from "../policy/access-request.js";
import type { Decision } from "../policy/decision.js";

/** Why the gate asks for approval. */
export type ApprovalReason = "policy" | "supervision";

/** What an approver is shown. Arguments are redacted like in the audit log. */
export interface ApprovalRequest {
  readonly invocationId: string;
  readonly reason: ApprovalReason;
  /** The acting agent. */
  readonly agent: string;
  readonly principal: string;
  readonly chain: readonly string[];
  readonly tool: string;
  readonly action: string;
  readonly resource: AccessRequest["resource"];
  /** Redacted arguments. */
  readonly arguments: unknown;
  readonly decision: Decision;
}

/** An approver's answer. */
export interface ApprovalAnswer {
  readonly approved: boolean;
  /** Who answered (a person, a team, a service): recorded in the audit log. */
  readonly approver: string;
  readonly reason?: string;
}

/**
 * The port for human (or delegated) approval. The gate calls it when a policy obligation says
 * `require-approval`, or when a supervised agent attempts a risky action. A rejection, an
 * answer that is not `{ approved: true }`, or no answer within the gate's approval timeout all
 * deny with `approval_denied` (SECURITY.md D38).
 */
export interface ApprovalProvider {
  requestApproval(
    request: ApprovalRequest,
    options: { signal: AbortSignal },
  ): Promise<ApprovalAnswer>;
}

/**
 * An {@link ApprovalProvider} from a function: a terminal prompt, a chat message, a test script.
 *
 * @example
 * ```ts
 * const approvals = new CallbackApprovalProvider(async (request) =>
 *   ({ approved: await askOnSlack(request), approver: "oncall@acme.example" }));
 * ```
 */
export class CallbackApprovalProvider implements ApprovalProvider {
  constructor(
    private readonly callback: (
      request: ApprovalRequest,
      options: { signal: AbortSignal },
    ) => ApprovalAnswer | Promise<ApprovalAnswer>,
  ) {}

  async requestApproval(
    request: ApprovalRequest,
    options: { signal: AbortSignal },
  ): Promise<ApprovalAnswer> {
    return this.callback(request, options);
  }
}

const SUSPENDED = Symbol.for("agentgate.approval-suspended");

/**
 * Thrown by an {@link ApprovalProvider} to suspend a call until a human answers out of band, for
 * example through a LangGraph interrupt that pauses the run and resumes it later. The gate
 * rethrows it untouched, records nothing and runs nothing; when the run resumes, the call goes
 * through the gate again and the provider answers. `cause` is what the framework must see.
 */
export class ApprovalSuspended extends Error {
  constructor(override readonly cause: unknown) {
    super("Approval pending: the call is suspended until a human answers.");
    this.name = "ApprovalSuspended";
    Object.defineProperty(this, SUSPENDED, { value: true });
  }
}

/** True for an {@link ApprovalSuspended}, also from another copy of the package. */
export function isApprovalSuspended(value: unknown): value is ApprovalSuspended {
  return typeof value === "object" && value !== null && SUSPENDED in value;
}
