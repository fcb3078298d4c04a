/**
 * `@agentgate/core/testing`: what tests of AgentGate, and of code built on it, need: a clock that
 * moves only when told, a gate over in-memory parts in one call ({@link createTestGate}), and
 * (re-exported for convenience) the in-memory twins of every port.
 */
export { MemoryAuditSink } from "../audit/audit-sink.js";
export { MemoryAgentRegistry } from "../identity/agent-registry.js";
export { MemoryKeyStore } from "../identity/key-store.js";
export { MemoryReplayCache } from "../identity/replay-cache.js";
export { MemoryRevocationList } from "../identity/revocation-list.js";
export { FunctionPolicyClient } from "../policy/policy-client.js";
export { TestClock } from "./test-clock.js";
export { createTestGate, type TestGate, type TestGateOptions } from "./test-gate.js";
