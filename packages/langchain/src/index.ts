/**
 * `@agentgate/langchain`: AgentGate for LangChain JS. Enforce with {@link protectTool} /
 * {@link protectTools}; observe (or best-effort enforce) agents you cannot re-wrap with
 * {@link AgentGateCallbackHandler}. This entry needs only `@langchain/core`; the `createAgent`
 * middleware lives in `@agentgate/langchain/middleware` (needs `langchain`) and approvals as
 * LangGraph interrupts in `@agentgate/langchain/interrupts` (needs `@langchain/langgraph`).
 */
export {
  AgentGateCallbackHandler,
  type AgentGateCallbackHandlerOptions,
} from "./callback-handler.js";
export { denialMessage } from "./denial.js";
export {
  isProtectedTool,
  type ProtectToolOptions,
  type ProtectToolsOptions,
  protectTool,
  protectTools,
} from "./protect-tool.js";
export {
  type CredentialOptions,
  credentialFromConfig,
  describeTool,
  type ToolPolicy,
} from "./tool-policy.js";
