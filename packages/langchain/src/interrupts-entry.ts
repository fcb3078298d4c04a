/**
 * `@agentgate/langchain/interrupts`: approvals as LangGraph interrupts. A subpath of its own
 * because it needs the optional peer `@langchain/langgraph`; the root entry works with
 * `@langchain/core` alone.
 */
export {
  type InterruptApprovalsOptions,
  type InterruptResume,
  interruptApprovals,
} from "./interrupt-approvals.js";
