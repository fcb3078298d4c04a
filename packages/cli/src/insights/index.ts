// Insights from a verified audit log, shared by `agentgate dashboard`, `agentgate audit
// findings` and the evidence pack: small functions over the records a verification vouches for.
export {
  type ActivityFacets,
  type ActivityFilter,
  type ActivitySeries,
  activityFacets,
  activitySeries,
  filterActivity,
  outcomeOf,
  toolLabel,
} from "./activity.js";
export { type DenialGroup, type DenialSummary, groupDenials, NO_POLICY } from "./denials.js";
export {
  approvalFinding,
  dormancy,
  type Finding,
  type FindingKind,
  type FindingOptions,
  leastPrivilegeFindings,
  ownerFinding,
  unusedPermissions,
  unusedScopes,
} from "./findings.js";
export {
  agentInventory,
  type InventoryEntry,
  type InventoryOptions,
  isCallDecision,
} from "./inventory.js";
export {
  type RequestSettings,
  type RequestVariation,
  recordedRequest,
} from "./recorded-request.js";
export {
  type ChainIntegrity,
  type InsightRecord,
  type ReadVerifiedLogOptions,
  readVerifiedLog,
  type VerifiedLog,
} from "./verified-log.js";
