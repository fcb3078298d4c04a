import { deepFreeze } from "./bounded-copy.js";

interface Known {
  readonly json: string;
  readonly tag: string;
}

const known = new WeakMap<object, Known>();
let counter = 0;

/**
 * Deep-freezes `value` and keeps its JSON text and a short tag standing for its content, so that
 * later serialisations of the same object (decision-cache keys, engine requests) cost a lookup.
 * Only for values built once and reused across calls, such as a verified agent's request subject.
 */
export function freezeWithJson<T extends object>(value: T): T {
  deepFreeze(value);
  known.set(value, { json: JSON.stringify(value), tag: `#${(++counter).toString(36)}` });
  return value;
}

/** `JSON.stringify(value)`, from memory for values frozen by {@link freezeWithJson}. */
export function jsonOf(value: unknown): string {
  const entry = typeof value === "object" && value !== null ? known.get(value) : undefined;
  return entry?.json ?? JSON.stringify(value);
}

/**
 * A string that is equal for two values only if their JSON is equal: the short tag of a value
 * frozen by {@link freezeWithJson} (`#…`, which no JSON text starts with), else its JSON. Two
 * equal values may still get different keys (a cache then misses, never confuses them).
 */
export function contentKey(value: unknown): string {
  const entry = typeof value === "object" && value !== null ? known.get(value) : undefined;
  return entry?.tag ?? JSON.stringify(value);
}
