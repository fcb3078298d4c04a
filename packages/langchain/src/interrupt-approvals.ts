import {
  type ApprovalAnswer,
  type ApprovalProvider,
  type ApprovalRequest,
  ApprovalSuspended,
} from "@agentgate/core";
import { interrupt } from "@langchain/langgraph";

/** What the run is resumed with: an AgentGate answer, or LangChain's human-in-the-loop response. */
export type InterruptResume =
  | ApprovalAnswer
  | {
      readonly decisions: ReadonlyArray<{
        readonly type: "approve" | "reject" | "edit";
        readonly message?: string;
      }>;
    };

/** Options of {@link interruptApprovals}. */
export interface InterruptApprovalsOptions {
  /** Who approves when the resume value does not say (recorded in the audit log). Default `human`. */
  readonly approver?: string;
}

/**
 * An `ApprovalProvider` that pauses a LangGraph / `createAgent` run with `interrupt()` and lets a
 * human answer later, instead of waiting inside the call. The interrupt's value is
 * `{ agentgate: ApprovalRequest, actionRequests: [{ name, args, description }] }` (the second
 * part matches LangChain's human-in-the-loop payload). Resume the run with
 * `new Command({ resume: { approved: true, approver: "dana@acme.example" } })` or with LangChain's
 * `{ decisions: [{ type: "approve" }] }`; the call then goes through the gate again and the
 * answer is audited. Needs a checkpointer and a `thread_id`. Only `approve` approves: `edit` and
 * anything else deny, since edited arguments were not what the policy decided on.
 *
 * @example
 * ```ts
 * const gate = new Gate({ ...ports, approvals: interruptApprovals() });
 * const agent = createAgent({ model, tools, checkpointer: new MemorySaver(), middleware: [agentGateMiddleware({ gate, credential })] });
 * ```
 */
export function interruptApprovals(options: InterruptApprovalsOptions = {}): ApprovalProvider {
  return {
    async requestApproval(request: ApprovalRequest): Promise<ApprovalAnswer> {
      let resume: InterruptResume;
      try {
        resume = interrupt<unknown, InterruptResume>({
          agentgate: request,
          actionRequests: [
            {
              name: request.tool,
              args: request.arguments,
              description: `AgentGate: ${request.agent} asks to ${request.action} (${request.reason}).`,
            },
          ],
        });
      } catch (error) {
        // The first pass pauses the run: the gate must let LangGraph see its interrupt.
        throw new ApprovalSuspended(error);
      }
      return answerOf(resume, options.approver ?? "human");
    },
  };
}

function answerOf(resume: InterruptResume, approver: string): ApprovalAnswer {
  if ("decisions" in resume) {
    const decision = resume.decisions[0];
    return decision?.type === "approve"
      ? { approved: true, approver }
      : {
          approved: false,
          approver,
          reason: decision?.message ?? `decision ${decision?.type ?? "missing"}`,
        };
  }
  return {
    approved: resume.approved === true,
    approver: typeof resume.approver === "string" ? resume.approver : approver,
    ...(resume.reason === undefined ? {} : { reason: resume.reason }),
  };
}
