/**
 * `@agentgate/langchain/middleware`: the `createAgent` middleware. A subpath of its own because it
 * needs the optional peer `langchain`; the root entry works with `@langchain/core` alone.
 */
export { type AgentGateMiddlewareOptions, agentGateMiddleware } from "./middleware.js";
