import type { AuthZenEntity, AuthZenEvaluation } from "@agentgate/core";
import { type EntityShape, type LoadedSchema, prune } from "./cedar-schema.js";
import type { EntityStore, EntityUid, StoredEntity } from "./entity-store.js";
import type { EntityTypes } from "./entity-types.js";

/** An entity as it crosses into wasm. */
export interface CedarEntity {
  uid: EntityUid;
  attrs: Record<string, never>;
  parents: EntityUid[];
  tags?: Record<string, never>;
}

/** The Cedar uids of a request: principal, action and resource. */
export interface CedarUids {
  readonly principal: EntityUid;
  readonly action: EntityUid;
  readonly resource: EntityUid;
}

/** Which attributes (and whether tags) of an entity the policies of a slice read. */
export interface EntityNeeds {
  readonly attributes: Set<string> | true;
  readonly tags: boolean;
}

/**
 * The Cedar uids of an AuthZEN evaluation: the subject and resource types through the entity
 * type table (never collapsed, L91), the action as `Action::"<name>"`. A string naming what
 * cannot be mapped when a type has no Cedar name.
 */
export function cedarUids(request: AuthZenEvaluation, types: EntityTypes): CedarUids | string {
  const principalType = types.cedarType(request.subject.type);
  if (principalType === undefined)
    return `subject type "${request.subject.type}" has no Cedar entity type`;
  const resourceType = types.cedarType(
    request.resource.type === "" ? "tool" : request.resource.type,
  );
  if (resourceType === undefined)
    return `resource type "${request.resource.type}" has no Cedar entity type`;
  return {
    principal: { type: principalType, id: request.subject.id },
    action: { type: "Action", id: request.action.name },
    resource: { type: resourceType, id: request.resource.id },
  };
}

/**
 * The entities a request needs in wasm: the principal and the resource, each with the
 * properties the schema declares for its type (converted as declared, `labels` as tags where the
 * type has tags) and what the entity store says of it (authoritative: stored attributes win over
 * the request's, stored parents are its parents), then their stored ancestors. Only the
 * attributes the policies read cross (the JSON crossing is Cedar's per-call cost).
 */
export function cedarEntities(
  request: AuthZenEvaluation,
  uids: CedarUids,
  schema: LoadedSchema,
  store: EntityStore,
  needs: { principal: EntityNeeds; resource: EntityNeeds },
): CedarEntity[] {
  const resourceProperties =
    uids.resource.type === "Tool" && typeof request.action.properties?.server === "string"
      ? { ...request.resource.properties, server: request.action.properties.server }
      : request.resource.properties;
  const principal = entityOf(uids.principal, request.subject, schema, store, needs.principal);
  const resource = entityOf(
    uids.resource,
    { ...request.resource, ...(resourceProperties ? { properties: resourceProperties } : {}) },
    schema,
    store,
    needs.resource,
  );
  const entities: CedarEntity[] = [];
  if (principal !== undefined) entities.push(principal);
  if (resource !== undefined) entities.push(resource);
  if (store.size > 0) {
    for (const ancestor of store.ancestors([uids.principal, uids.resource])) {
      entities.push(wasmEntity(ancestor));
    }
  }
  return entities;
}

function entityOf(
  uid: EntityUid,
  wire: AuthZenEntity,
  schema: LoadedSchema,
  store: EntityStore,
  needs: EntityNeeds,
): CedarEntity | undefined {
  const stored = store.size > 0 ? store.get(uid.type, uid.id) : undefined;
  const shape = schema.entities.get(uid.type);
  const attrs =
    shape === undefined ? {} : declaredAttributes(wire.properties, shape, needs.attributes);
  if (stored !== undefined) Object.assign(attrs, pick(stored.attrs, needs.attributes));
  const parents = stored === undefined ? [] : [...stored.parents];
  let tags: Record<string, unknown> | undefined;
  if (needs.tags) {
    const labels = wire.properties?.labels;
    const isMap = typeof labels === "object" && labels !== null && !Array.isArray(labels);
    tags =
      stored?.tags ??
      (shape?.tags === true
        ? { ...(isMap ? (labels as Record<string, unknown>) : {}) }
        : undefined);
  }
  // An entity no policy reads anything of, and that has no parents, need not cross at all.
  if (Object.keys(attrs).length === 0 && parents.length === 0 && tags === undefined)
    return undefined;
  return {
    uid,
    attrs: attrs as Record<string, never>,
    parents,
    ...(tags === undefined ? {} : { tags: tags as Record<string, never> }),
  };
}

function declaredAttributes(
  properties: Readonly<Record<string, unknown>> | undefined,
  shape: EntityShape,
  wanted: Set<string> | true,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (properties === undefined) return out;
  if (wanted === true) {
    for (const [name, attribute] of shape.attributes) {
      if (Object.hasOwn(properties, name) && properties[name] !== undefined)
        out[name] = prune(properties[name], attribute.shape);
    }
  } else {
    for (const name of wanted) {
      const attribute = shape.attributes.get(name);
      if (
        attribute !== undefined &&
        Object.hasOwn(properties, name) &&
        properties[name] !== undefined
      )
        out[name] = prune(properties[name], attribute.shape);
    }
  }
  return out;
}

function pick(
  attrs: Readonly<Record<string, unknown>>,
  wanted: Set<string> | true,
): Record<string, unknown> {
  if (wanted === true) return { ...attrs };
  const out: Record<string, unknown> = {};
  for (const name of wanted) if (Object.hasOwn(attrs, name)) out[name] = attrs[name];
  return out;
}

function wasmEntity(entity: StoredEntity): CedarEntity {
  return {
    uid: entity.uid,
    attrs: entity.attrs as Record<string, never>,
    parents: [...entity.parents],
    ...(entity.tags === undefined ? {} : { tags: entity.tags as Record<string, never> }),
  };
}
