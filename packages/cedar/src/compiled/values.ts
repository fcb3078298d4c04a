import { EXTENSION_FUNCTIONS, JSON_CONSTRUCTORS } from "./extensions.js";

/**
 * Cedar values as plain JavaScript, for the compiled evaluator: `boolean`; Long as a safe-integer
 * `number` or, beyond 2^53, a `bigint` (one canonical form per value, so `===` is Long equality);
 * `string`; {@link EntityUid}; a set as an array (duplicates allowed, every operation is a set
 * operation); a record as a plain object (own properties only); {@link ExtensionValue} for the
 * extension types (decimal, ipaddr, datetime, duration).
 */
export type CedarValue =
  | boolean
  | number
  | bigint
  | string
  | EntityUid
  | ExtensionValue
  | readonly CedarValue[]
  | CedarRecord;

/** A Cedar record: own properties only. */
export interface CedarRecord {
  readonly [name: string]: CedarValue;
}

/** An entity's type and id; `key` is `Type::"id"`, its identity. */
export class EntityUid {
  readonly key: string;
  constructor(
    readonly type: string,
    readonly id: string,
  ) {
    this.key = `${type}::${JSON.stringify(id)}`;
  }
}

/** Cedar's extension types. */
export type ExtensionType = "decimal" | "ipaddr" | "datetime" | "duration";

/**
 * A value of an extension type: `value` is the decimal in units of 10^-4, the datetime in
 * milliseconds since the epoch, the duration in milliseconds (all 64-bit), or the IP address
 * (with its `prefix` length and family); equal exactly when all four are.
 */
export class ExtensionValue {
  constructor(
    readonly type: ExtensionType,
    readonly value: bigint,
    readonly prefix = 0,
    readonly v6 = false,
  ) {}
}

/** An entity of the store: attributes, every ancestor (transitively) by key, tags. */
export interface CedarEntity {
  readonly uid: EntityUid;
  readonly attrs: CedarRecord;
  readonly ancestors: ReadonlySet<string>;
  readonly tags: CedarRecord | undefined;
}

/** Entities by key. */
export type EntityStore = ReadonlyMap<string, CedarEntity>;

/** Evaluation failed the way Cedar's does (type error, missing attribute, overflow): the policy errors. */
export class CedarEvaluationError extends Error {}

/** The evaluator met something it does not compute: the caller must ask cedar-wasm instead. */
export class NeedsWasm extends Error {}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** Canonical Long from a bigint, or an overflow error. */
export function longOf(value: bigint): number | bigint {
  if (value < I64_MIN || value > I64_MAX) throw new CedarEvaluationError("integer overflow");
  const small = Number(value);
  return Number.isSafeInteger(small) ? small : value;
}

/** Whether a value is a Long. */
export function isLong(value: CedarValue): value is number | bigint {
  return typeof value === "number" || typeof value === "bigint";
}

/** Whether a value is a record. */
export function isRecord(value: CedarValue): value is CedarRecord {
  return (
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof EntityUid) &&
    !(value instanceof ExtensionValue)
  );
}

/** Cedar `==`: never an error; values of different types are unequal. */
export function valueEquals(a: CedarValue, b: CedarValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof ExtensionValue || b instanceof ExtensionValue) {
    return (
      a instanceof ExtensionValue &&
      b instanceof ExtensionValue &&
      a.type === b.type &&
      a.value === b.value &&
      a.prefix === b.prefix &&
      a.v6 === b.v6
    );
  }
  if (a instanceof EntityUid) return b instanceof EntityUid && a.key === b.key;
  if (b instanceof EntityUid) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b)) return false;
    return subset(a, b) && subset(b, a);
  }
  if (Array.isArray(b)) return false;
  const ra = a as CedarRecord;
  const rb = b as CedarRecord;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(rb, key) || !valueEquals(ra[key] as CedarValue, rb[key] as CedarValue))
      return false;
  }
  return true;
}

/** Every element of `small` is in `big`. */
export function subset(small: readonly CedarValue[], big: readonly CedarValue[]): boolean {
  for (const item of small) if (!includes(big, item)) return false;
  return true;
}

/** Set membership. */
export function includes(set: readonly CedarValue[], item: CedarValue): boolean {
  for (const element of set) if (valueEquals(element, item)) return true;
  return false;
}

/**
 * A value from Cedar's JSON form (schema-less): `{"__entity": …}` and `{"__extn": …}` escapes,
 * arrays as sets, objects as records. Numbers must be integers; throws a plain Error on anything
 * else (the caller reports it as a request that does not parse).
 */
export function fromJson(json: unknown, depth = 0): CedarValue {
  if (depth > 64) throw new Error("value nested too deeply");
  switch (typeof json) {
    case "boolean":
    case "string":
      return json;
    case "number":
      if (!Number.isSafeInteger(json)) throw new NeedsWasm("number outside the exact range");
      return json;
    case "bigint":
      return longOf(json);
    case "object": {
      if (json === null) throw new Error("null is not a Cedar value");
      if (Array.isArray(json)) return json.map((item) => fromJson(item, depth + 1));
      const object = json as Record<string, unknown>;
      const keys = Object.keys(object);
      if (keys.length === 1 && keys[0] === "__entity") return uidFromJson(object.__entity);
      if (keys.length === 1 && keys[0] === "__extn") return extensionFromJson(object.__extn, depth);
      const out: Record<string, CedarValue> = Object.create(null);
      for (const key of keys) out[key] = fromJson(object[key], depth + 1);
      return out;
    }
    default:
      throw new Error(`${typeof json} is not a Cedar value`);
  }
}

/**
 * `{"fn": …, "arg": …}` or `{"fn": …, "args": […]}`: a constructor (or `offset`) applied to its
 * arguments. Anything else, or arguments the constructor refuses (Cedar then refuses the whole
 * request), is left to cedar-wasm.
 */
function extensionFromJson(json: unknown, depth: number): ExtensionValue {
  const call = json as { fn?: unknown; arg?: unknown; args?: unknown };
  if (typeof call !== "object" || call === null || typeof call.fn !== "string")
    throw new NeedsWasm("an extension escape");
  const fn = EXTENSION_FUNCTIONS.get(call.fn);
  if (fn === undefined || !JSON_CONSTRUCTORS.has(call.fn))
    throw new NeedsWasm("an extension escape");
  let args: CedarValue[];
  if (Object.hasOwn(call, "arg")) args = [fromJson(call.arg, depth + 1)];
  else if (Array.isArray(call.args)) args = call.args.map((arg) => fromJson(arg, depth + 1));
  else throw new NeedsWasm("an extension escape");
  try {
    return fn(args) as ExtensionValue;
  } catch (error) {
    if (error instanceof CedarEvaluationError)
      throw new NeedsWasm(`an extension value (${error.message})`);
    throw error;
  }
}

/** An entity uid from `{"type", "id"}` or `{"__entity": {"type", "id"}}`. */
export function uidFromJson(json: unknown): EntityUid {
  const value =
    (json as { __entity?: { type: unknown; id: unknown } }).__entity ??
    (json as { type: unknown; id: unknown });
  if (typeof value?.type !== "string" || typeof value.id !== "string")
    throw new Error("not an entity uid");
  return new EntityUid(value.type, value.id);
}

const NO_ANCESTORS: ReadonlySet<string> = new Set();

/**
 * Cedar's JSON entity list, as a store with the hierarchy closed transitively. Built on every
 * compiled decision, so in one pass with nothing in between: an entity given twice keeps the last
 * one, as a map would, and an entity without parents shares one empty ancestor set.
 */
export function entityStoreFromJson(
  json: ReadonlyArray<{ uid: unknown; attrs?: unknown; parents?: unknown[]; tags?: unknown }>,
  extra: Iterable<{ uid: EntityUid; parents: readonly EntityUid[] }> = [],
): Map<string, CedarEntity> {
  const store = new Map<string, CedarEntity>();
  let parents: Map<string, string[]> | undefined;
  for (const entity of json) {
    const uid = uidFromJson(entity.uid);
    const direct = entity.parents;
    if (direct !== undefined && direct.length > 0) {
      parents ??= new Map();
      parents.set(
        uid.key,
        direct.map((parent) => uidFromJson(parent).key),
      );
    } else parents?.delete(uid.key);
    store.set(uid.key, {
      uid,
      attrs: (entity.attrs === undefined ? {} : fromJson(entity.attrs)) as CedarRecord,
      ancestors: NO_ANCESTORS,
      tags: entity.tags === undefined ? undefined : (fromJson(entity.tags) as CedarRecord),
    });
  }
  for (const { uid, parents: ps } of extra) {
    if (!store.has(uid.key))
      store.set(uid.key, { uid, attrs: {}, ancestors: NO_ANCESTORS, tags: undefined });
    parents ??= new Map();
    parents.set(uid.key, [...(parents.get(uid.key) ?? []), ...ps.map((parent) => parent.key)]);
  }
  if (parents === undefined) return store;
  for (const [key, entity] of store) {
    if (parents.has(key)) store.set(key, { ...entity, ancestors: closure(key, parents) });
  }
  return store;
}

function closure(key: string, parents: ReadonlyMap<string, readonly string[]>): Set<string> {
  const seen = new Set<string>();
  const stack = [...(parents.get(key) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(parents.get(next) ?? []));
  }
  return seen;
}
