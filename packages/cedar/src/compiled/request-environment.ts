import type { LoadedSchema, Shape } from "../cedar-schema.js";
import type { CedarRequest } from "../request-to-cedar.js";
import type { Environment } from "./compile-expression.js";
import {
  type CedarEntity,
  type CedarRecord,
  type CedarValue,
  EntityUid,
  ExtensionValue,
  NeedsWasm,
} from "./values.js";

/**
 * The compiled evaluator's view of a request, built once as plain JS values (nothing is
 * serialised): the agent and the resource as entities, the action with its groups from the
 * schema, and the context, after checking the request against the schema the way Cedar's
 * request validation does. Returns the validation error instead when it does not fit; throws
 * `NeedsWasm` when the context holds a type this evaluator leaves to cedar-wasm.
 */
export function requestEnvironment(
  request: CedarRequest,
  schema: LoadedSchema,
  context: unknown,
  shape: Shape,
): Environment | { readonly invalid: string } {
  const declaration = schema.actions.get(request.action.id);
  if (declaration === undefined)
    return { invalid: `action "${request.action.id}" is not declared in the Cedar schema` };
  if (!declaration.principalTypes.has(request.principal.type))
    return {
      invalid: `principal type ${request.principal.type} is not valid for action "${request.action.id}"`,
    };
  if (!declaration.resourceTypes.has(request.resource.type))
    return {
      invalid: `resource type ${request.resource.type} is not valid for action "${request.action.id}"`,
    };
  const problem = conform(context, shape, "context");
  if (problem !== undefined) return { invalid: problem };
  const principal = new EntityUid(request.principal.type, request.principal.id);
  const action = new EntityUid(request.action.type, request.action.id);
  const resource = new EntityUid(request.resource.type, request.resource.id);
  const entities = new Map<string, CedarEntity>();
  for (const entity of request.entities) {
    const uid =
      entity.uid.type === principal.type && entity.uid.id === principal.id ? principal : resource;
    entities.set(uid.key, {
      uid,
      attrs: plain(entity.attrs) as CedarRecord,
      ancestors: new Set(entity.parents.map((parent) => new EntityUid(parent.type, parent.id).key)),
      tags: entity.tags === undefined ? undefined : (plain(entity.tags) as CedarRecord),
    });
  }
  const groups = actionAncestors(schema, request.action.id);
  if (groups.size > 0)
    entities.set(action.key, { uid: action, attrs: {}, ancestors: groups, tags: undefined });
  return { principal, action, resource, context: context as CedarRecord, entities };
}

const ancestry = new WeakMap<LoadedSchema, Map<string, ReadonlySet<string>>>();

/** The keys of every group an action belongs to, transitively; computed once per schema. */
function actionAncestors(schema: LoadedSchema, id: string): ReadonlySet<string> {
  let known = ancestry.get(schema);
  if (known === undefined) {
    known = new Map();
    ancestry.set(schema, known);
  }
  const cached = known.get(id);
  if (cached !== undefined) return cached;
  const seen = new Set<string>();
  const stack = [...(schema.actions.get(id)?.memberOf ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    const key = new EntityUid("Action", next).key;
    if (seen.has(key)) continue;
    seen.add(key);
    stack.push(...(schema.actions.get(next)?.memberOf ?? []));
  }
  known.set(id, seen);
  return seen;
}

/** The agent's and the resource's attributes: strings, booleans and arrays of strings. */
function plain(value: Record<string, unknown>): CedarRecord {
  const out: Record<string, CedarValue> = Object.create(null);
  for (const [name, member] of Object.entries(value)) {
    if (member === undefined) continue;
    if (
      typeof member === "string" ||
      typeof member === "boolean" ||
      (Array.isArray(member) && member.every((item) => typeof item === "string"))
    )
      out[name] = member as CedarValue;
    else throw new NeedsWasm(`entity attribute ${name}`);
  }
  return out;
}

/**
 * Checks a (pruned) context against its declared shape, as Cedar's request validation: required
 * members present, every value of its declared type. Values are the request's own (arrays are
 * sets, objects records); an object that Cedar's JSON would read as an entity or extension
 * escape, or a shape this check does not know, goes to cedar-wasm.
 */
function conform(value: unknown, shape: Shape, path: string): string | undefined {
  switch (shape.kind) {
    case "record": {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        return `${path} is not a record`;
      if (Object.hasOwn(value, "__entity") || Object.hasOwn(value, "__extn"))
        throw new NeedsWasm("an escape in the context");
      for (const [name, attribute] of shape.attributes) {
        const member = (value as Record<string, unknown>)[name];
        if (member === undefined || !Object.hasOwn(value, name)) {
          if (attribute.required) return `${path}.${name} is required`;
          continue;
        }
        const problem = conform(member, attribute.shape, `${path}.${name}`);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    case "set":
      if (!Array.isArray(value)) return `${path} is not a set`;
      for (const item of value) {
        const problem = conform(item, shape.element, `${path} element`);
        if (problem !== undefined) return problem;
      }
      return undefined;
    case "long":
      return typeof value === "number" && Number.isSafeInteger(value)
        ? undefined
        : `${path} is not a Long`;
    case "string":
      return typeof value === "string" ? undefined : `${path} is not a String`;
    case "bool":
      return typeof value === "boolean" ? undefined : `${path} is not a Bool`;
    case "decimal":
      if (value instanceof ExtensionValue) return undefined;
      throw new NeedsWasm("a decimal in the context");
    default:
      throw new NeedsWasm("a context type the compiled path leaves to cedar-wasm");
  }
}
