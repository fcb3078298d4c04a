import type { LoadedSchema, Shape } from "../cedar-schema.js";
import type { CedarEntity as CedarJsonEntity, CedarUids } from "../request-to-cedar.js";
import type { Environment } from "./compile-expression.js";
import {
  type CedarEntity,
  type CedarRecord,
  EntityUid,
  ExtensionValue,
  entityStoreFromJson,
  NeedsWasm,
} from "./values.js";

/**
 * The compiled evaluator's view of a request, built once as plain JS values (nothing is
 * serialised): the principal and the resource with the entities the request needs (as
 * `cedarEntities` gives them: declared properties as attributes, the entity store's attributes
 * and parents, their stored ancestors), the hierarchy closed transitively, the action with its
 * groups from the schema, and the context, after checking the request against the schema the
 * way Cedar's request validation does. Returns the validation error instead when it does not
 * fit; throws `NeedsWasm` when the request holds a value this evaluator leaves to cedar-wasm
 * (an extension value, an entity reference, an attribute off its declared type).
 */
export function requestEnvironment(
  uids: CedarUids,
  entities: readonly CedarJsonEntity[],
  schema: LoadedSchema,
  context: unknown,
  shape: Shape,
): Environment | { readonly invalid: string } {
  const declaration = schema.actions.get(uids.action.id);
  if (declaration === undefined)
    return { invalid: `action "${uids.action.id}" is not declared in the Cedar schema` };
  if (!declaration.principals.includes(uids.principal.type))
    return {
      invalid: `principal type ${uids.principal.type} is not valid for action "${uids.action.id}"`,
    };
  if (!declaration.resources.includes(uids.resource.type))
    return {
      invalid: `resource type ${uids.resource.type} is not valid for action "${uids.action.id}"`,
    };
  const problem = conform(context, shape, "context");
  if (problem !== undefined) return { invalid: problem };
  const principal = new EntityUid(uids.principal.type, uids.principal.id);
  const action = new EntityUid(uids.action.type, uids.action.id);
  const resource = new EntityUid(uids.resource.type, uids.resource.id);
  for (const entity of entities) checkAttributes(entity, schema);
  let store: Map<string, CedarEntity>;
  try {
    store = entityStoreFromJson(entities);
  } catch (error) {
    if (error instanceof NeedsWasm) throw error;
    throw new NeedsWasm(`an entity value (${(error as Error).message})`);
  }
  // Cedar refuses an entity given twice (a subject that is also the resource): its answer. The
  // store keeps one entry per uid, so a smaller store means a uid came twice.
  if (store.size !== entities.length) throw new NeedsWasm("an entity given twice");
  const groups = actionAncestors(schema, uids.action.id);
  if (groups.size > 0)
    store.set(action.key, { uid: action, attrs: {}, ancestors: groups, tags: undefined });
  return { principal, action, resource, context: context as CedarRecord, entities: store };
}

/**
 * Every attribute of an entity against the type the schema declares for it: a value of another
 * type, or of a type this evaluator does not read as Cedar's JSON would (an entity reference, an
 * extension), goes to cedar-wasm, which decides it exactly; tags are strings, booleans, Longs or
 * sets of them, or cedar-wasm decides. Where cedar-wasm is given the schema at evaluation (action
 * groups), it also refuses an entity missing a required attribute: cedar-wasm decides that too.
 */
function checkAttributes(entity: CedarJsonEntity, schema: LoadedSchema): void {
  const declared = schema.entities.get(entity.uid.type)?.attributes;
  if (schema.hasActionGroups && declared !== undefined) {
    for (const [name, attribute] of declared)
      if (attribute.required && !Object.hasOwn(entity.attrs, name))
        throw new NeedsWasm(`entity ${entity.uid.type} without its required attribute ${name}`);
  }
  for (const [name, value] of Object.entries(entity.attrs as Record<string, unknown>)) {
    const attribute = declared?.get(name);
    if (attribute === undefined) throw new NeedsWasm(`the undeclared attribute ${name}`);
    if (conform(value, attribute.shape, name) !== undefined)
      throw new NeedsWasm(`entity attribute ${name} off its declared type`);
  }
  for (const [name, value] of Object.entries((entity.tags ?? {}) as Record<string, unknown>)) {
    if (!plainTag(value)) throw new NeedsWasm(`tag ${name}`);
  }
}

function plainTag(value: unknown): boolean {
  return (
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isSafeInteger(value)) ||
    (Array.isArray(value) && value.every((item) => typeof item !== "object" && plainTag(item)))
  );
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
