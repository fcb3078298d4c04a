import { AgentGateError } from "@agentgate/core";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";

/** The shape of a context value, as the schema declares it. */
export type Shape =
  | {
      readonly kind: "record";
      readonly attributes: ReadonlyMap<string, { shape: Shape; required: boolean }>;
    }
  | { readonly kind: "set"; readonly element: Shape }
  | { readonly kind: "long" | "string" | "bool" | "decimal" | "other" };

interface JsonType {
  type: string;
  attributes?: Record<string, JsonType & { required?: boolean }>;
  element?: JsonType;
  name?: string;
}

/** An entity type as the schema declares it: its attributes and whether it has tags. */
export interface EntityShape {
  readonly attributes: ReadonlyMap<string, { shape: Shape; required: boolean }>;
  readonly tags: boolean;
}

/** What an action applies to, as the schema declares it, and the groups it belongs to. */
export interface ActionScope {
  readonly principals: readonly string[];
  readonly resources: readonly string[];
  /** The ids of the action groups it is a member of, directly. */
  readonly memberOf: readonly string[];
}

/** A loaded, pre-parsed schema: the context shape of every action, for pruning requests. */
export interface LoadedSchema {
  readonly text: string;
  /** Name under which cedar-wasm holds the pre-parsed schema. */
  readonly preparsedName: string;
  readonly contexts: ReadonlyMap<string, Shape>;
  /** Every declared entity type (namespaced names, `ns::Type`) and its attributes. */
  readonly entities: ReadonlyMap<string, EntityShape>;
  /** Every declared action and the principal and resource types it applies to. */
  readonly actions: ReadonlyMap<string, ActionScope>;
  /** Actions are grouped (`memberOf`): evaluation then needs the schema for the hierarchy. */
  readonly hasActionGroups: boolean;
}

let schemaCounter = 0;

/** Parses, resolves and pre-parses a Cedar schema; throws `policy_invalid` naming the problem. */
export function loadSchema(text: string, source: string): LoadedSchema {
  const resolved = cedar.schemaToJsonWithResolvedTypes(text);
  if (resolved.type !== "success") {
    throw new AgentGateError(
      "policy_invalid",
      `Cedar schema ${source}: ${resolved.errors.map((error) => error.message).join("; ")}`,
    );
  }
  const contexts = new Map<string, Shape>();
  const entities = new Map<string, EntityShape>();
  const actions = new Map<string, ActionScope>();
  let hasActionGroups = false;
  for (const [namespace, definition] of Object.entries(resolved.json)) {
    const common = (definition.commonTypes ?? {}) as Record<string, JsonType>;
    const qualify = (name: string) =>
      namespace === "" || name.includes("::") ? name : `${namespace}::${name}`;
    for (const [name, spec] of Object.entries(definition.entityTypes ?? {})) {
      const shape = (spec as { shape?: JsonType }).shape;
      const record = shape === undefined ? undefined : shapeOf(shape, common, 0);
      entities.set(qualify(name), {
        attributes: record?.kind === "record" ? record.attributes : new Map(),
        tags: (spec as { tags?: unknown }).tags !== undefined,
      });
    }
    for (const [action, spec] of Object.entries(definition.actions)) {
      if ((spec.memberOf?.length ?? 0) > 0) hasActionGroups = true;
      const context = spec.appliesTo?.context as JsonType | undefined;
      const id = namespace === "" ? action : `${namespace}::${action}`;
      actions.set(id, {
        principals: (spec.appliesTo?.principalTypes ?? []).map(qualify),
        resources: (spec.appliesTo?.resourceTypes ?? []).map(qualify),
        memberOf: (spec.memberOf ?? []).map((group: { id: string }) => group.id),
      });
      contexts.set(
        id,
        context === undefined
          ? { kind: "record", attributes: new Map() }
          : shapeOf(context, common, 0),
      );
    }
  }
  const preparsedName = `agentgate-schema-${++schemaCounter}`;
  const parsed = cedar.preparseSchema(preparsedName, text);
  if (parsed.type !== "success") {
    throw new AgentGateError(
      "policy_invalid",
      `Cedar schema ${source}: ${parsed.errors.map((error) => error.message).join("; ")}`,
    );
  }
  return { text, preparsedName, contexts, entities, actions, hasActionGroups };
}

function shapeOf(type: JsonType, common: Record<string, JsonType>, depth: number): Shape {
  if (depth > 32) return { kind: "other" };
  switch (type.type) {
    case "Record":
      return {
        kind: "record",
        attributes: new Map(
          Object.entries(type.attributes ?? {}).map(([name, attribute]) => [
            name,
            {
              shape: shapeOf(attribute, common, depth + 1),
              required: attribute.required !== false,
            },
          ]),
        ),
      };
    case "Set":
      return {
        kind: "set",
        element:
          type.element === undefined ? { kind: "other" } : shapeOf(type.element, common, depth + 1),
      };
    case "Long":
      return { kind: "long" };
    case "String":
      return { kind: "string" };
    case "Boolean":
    case "Bool":
      return { kind: "bool" };
    case "Extension":
      return { kind: type.name === "decimal" ? "decimal" : "other" };
    // cedar-wasm 4 resolves extension types to their own name.
    case "decimal":
      return { kind: "decimal" };
    default: {
      const referenced = common[type.type];
      return referenced === undefined ? { kind: "other" } : shapeOf(referenced, common, depth + 1);
    }
  }
}

/**
 * Keeps only what the schema declares, converting numbers to Cedar `decimal` where declared.
 * Undeclared members cannot be read by a validated policy, so dropping them changes no decision
 * and keeps the JSON that crosses into wasm small. Anything that still does not fit the schema
 * is left as it is for Cedar's request validation to refuse (deny), never coerced into fitting.
 */
export function prune(value: unknown, shape: Shape): unknown {
  if (shape.kind === "record") {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [name, attribute] of shape.attributes) {
      const member = (value as Record<string, unknown>)[name];
      if (member !== undefined && Object.hasOwn(value, name))
        out[name] = prune(member, attribute.shape);
    }
    return out;
  }
  if (shape.kind === "set")
    return Array.isArray(value) ? value.map((item) => prune(item, shape.element)) : value;
  if (shape.kind === "decimal" && typeof value === "number" && Number.isFinite(value)) {
    return { __extn: { fn: "decimal", arg: value.toFixed(4) } };
  }
  return value;
}
