import type { AccessRequest } from "@agentgate/core";

interface Uid {
  readonly type: string;
  readonly id: string;
}

/** The Cedar form of an AuthZEN-shaped request: entity uids, the context and the two entities it needs. */
export interface CedarRequest {
  readonly principal: Uid;
  readonly action: Uid;
  readonly resource: Uid;
  readonly context: Record<string, unknown>;
  readonly entities: Array<{
    uid: Uid;
    attrs: Record<string, never>;
    parents: Uid[];
    tags?: Record<string, never>;
  }>;
}

/**
 * Maps a request to Cedar: principal `Agent::"<id>"` with the verified attributes (labels as
 * tags), action `Action::"<name>"`, resource `Tool::"<id>"` (or the type the tool declares,
 * capitalised), and the context. Only the two entities the request names cross into wasm:
 * the JSON crossing is Cedar's per-call cost.
 */
export function toCedarRequest(request: AccessRequest): CedarRequest {
  const { subject, action, resource, context } = request;
  const properties = subject.properties;
  const principal = { type: "Agent", id: subject.id };
  const resourceUid = { type: entityType(resource.type), id: resource.id };
  const agentAttributes: Record<string, unknown> = {
    owner: properties.owner,
    supervision: properties.supervision,
    scopes: [...properties.scopes],
    principal: properties.principal,
    principalType: properties.principalType,
    chain: [...properties.chain],
    delegated: properties.delegated,
  };
  if (properties.team !== undefined) agentAttributes.team = properties.team;
  const resourceAttributes: Record<string, unknown> = {};
  if (resourceUid.type === "Tool" && action.properties.server !== undefined)
    resourceAttributes.server = action.properties.server;
  return {
    principal,
    action: { type: "Action", id: action.name },
    resource: resourceUid,
    context: context as Record<string, unknown>,
    entities: [
      {
        uid: principal,
        attrs: agentAttributes as Record<string, never>,
        parents: [],
        tags: { ...properties.labels } as Record<string, never>,
      },
      { uid: resourceUid, attrs: resourceAttributes as Record<string, never>, parents: [] },
    ],
  };
}

function entityType(type: string): string {
  return type.length === 0 ? "Tool" : `${type[0]?.toUpperCase()}${type.slice(1)}`;
}
