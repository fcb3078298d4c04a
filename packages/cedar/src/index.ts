/**
 * `@agentgate/cedar`: AgentGate's embedded policy engine. Cedar in process, validated against
 * the AgentGate schema at load, sliced per request, hot-reloaded from a directory.
 */
export {
  type CedarDirectoryOptions,
  CedarPolicyClient,
  type CedarPolicyClientOptions,
  DEFAULT_SCHEMA_PATH,
  type Explanation,
  type PolicyLoad,
} from "./cedar-policy-client.js";
export type { EntityUid, StoredEntity } from "./entity-store.js";
export { DEFAULT_ENTITY_TYPES } from "./entity-types.js";
export { policySetHash } from "./policy-set-hash.js";
export type { PolicyEntry, ScopeConstraint } from "./policy-store.js";
