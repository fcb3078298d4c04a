import type { PolicyEntry, ScopeConstraint } from "./policy-store.js";

/**
 * Picks the policies that can apply to a request by their scope alone. A policy whose principal,
 * action or resource constraint rules the request out can be neither satisfied nor an error, so
 * leaving it out changes no decision; constraints slicing cannot judge (`in` a hierarchy) are
 * always kept. This is what keeps a decision's cost flat as the policy store grows.
 */
export function sliceFor(
  policies: readonly PolicyEntry[],
  request: { principal: string; action: string; resource: string; resourceType: string },
): PolicyEntry[] {
  return policies.filter(
    (policy) =>
      admits(policy.scope.principal, request.principal, undefined) &&
      admits(policy.scope.action, request.action, undefined) &&
      admits(policy.scope.resource, request.resource, request.resourceType),
  );
}

function admits(constraint: ScopeConstraint, uid: string, type: string | undefined): boolean {
  switch (constraint.op) {
    case "any":
    case "in":
      return true;
    case "eq":
      return constraint.uid === uid;
    case "oneOf":
      return constraint.uids.includes(uid);
    case "is":
      return type === undefined ? uid.startsWith(`${constraint.type}::`) : constraint.type === type;
  }
}
