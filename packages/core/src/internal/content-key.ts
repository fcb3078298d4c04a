import { deepFreeze } from "./bounded-copy.js";

const tags = new WeakMap<object, string>();
let counter = 0;

/**
 * Deep-freezes `value` and gives it a short tag standing for its content, so that keys built
 * from it later (decision-cache keys) cost a lookup instead of a serialisation. Only for values
 * built once and reused across calls, such as a verified agent's request subject.
 */
export function freezeWithTag<T extends object>(value: T): T {
  deepFreeze(value);
  tags.set(value, `#${(++counter).toString(36)}`);
  return value;
}

/**
 * A string that is equal for two values only if their JSON is equal: the tag of a value frozen
 * by {@link freezeWithTag} (`#…`, which no JSON text starts with), else its JSON. Two equal
 * values may still get different keys (a cache then misses, never confuses them).
 */
export function contentKey(value: unknown): string {
  const tag = typeof value === "object" && value !== null ? tags.get(value) : undefined;
  return tag ?? JSON.stringify(value);
}
