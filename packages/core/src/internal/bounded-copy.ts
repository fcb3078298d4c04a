/**
 * Copies untrusted, JSON-like input (tool arguments) into fresh plain objects, iteratively, with
 * hard bounds on depth, node count, array length, member count, string length and total string
 * length, so that huge or deeply nested input costs bounded work and never overflows the stack
 * (SECURITY.md G54), and refusing the member names that pollute prototypes (G53). The copy is
 * what policy sees and what the tool receives, so later changes to the caller's object change
 * nothing (I64).
 *
 * Every bound is checked before the work it limits (L87): an array's `length` (holes included)
 * is counted against the node budget before a single element is visited or a slot allocated, so
 * a sparse array of length 2^32−1 costs as much to refuse as an empty one; an object's member
 * count likewise, before any member is read.
 */

/** Bounds of {@link boundedCopy}. */
export interface CopyBounds {
  /** Deepest nesting of arrays and objects; the top-level value is at depth 0. */
  readonly maxDepth: number;
  /** Values in all, holes and containers included. */
  readonly maxNodes: number;
  /** Sum of the lengths of all strings and member names. */
  readonly maxChars: number;
  /** Longest array, by its `length` (holes count). Default: `maxNodes`. */
  readonly maxArrayLength?: number;
  /** Most members of one object. Default: `maxNodes`. */
  readonly maxKeys?: number;
  /** Longest single string or member name. Default: `maxChars`. */
  readonly maxStringLength?: number;
}

/** The result of {@link boundedCopy}. */
export type CopyResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: string };

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

/** One value still to copy, and where its copy goes (`parent[key]`, or the root). */
interface Pending {
  readonly source: unknown;
  readonly parent: Record<string | number, unknown>;
  readonly key: string | number;
  readonly depth: number;
}

class Refused {
  constructor(readonly reason: string) {}
}

/**
 * Copies `input` within `bounds`; never throws. Refuses (with a reason safe to show) anything
 * that is not a JSON value (functions, symbols, bigints, class instances other than `Date`,
 * non-finite numbers), a forbidden member name, and anything past a bound.
 *
 * @example
 * ```ts
 * const copy = boundedCopy(args, { maxDepth: 32, maxNodes: 10_000, maxChars: 1 << 20 });
 * if (!copy.ok) throw new AgentGateError("invalid_arguments", copy.reason);
 * ```
 */
export function boundedCopy(input: unknown, bounds: CopyBounds): CopyResult {
  try {
    return { ok: true, value: walk(input, bounds) };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, reason: error.reason };
    // A getter or a proxy trap threw: the input is not plain data.
    return { ok: false, reason: "arguments could not be read as plain JSON values" };
  }
}

function walk(input: unknown, bounds: CopyBounds): unknown {
  const maxArrayLength = bounds.maxArrayLength ?? bounds.maxNodes;
  const maxKeys = bounds.maxKeys ?? bounds.maxNodes;
  const maxStringLength = bounds.maxStringLength ?? bounds.maxChars;
  let nodes = 1;
  let chars = 0;
  const addChars = (length: number): void => {
    if (length > maxStringLength)
      throw new Refused(`a string is longer than ${maxStringLength} characters`);
    chars += length;
    if (chars > bounds.maxChars) throw new Refused(`more than ${bounds.maxChars} characters`);
  };
  // Each pending value was counted in `nodes` when its container was opened.
  const addNodes = (count: number): void => {
    nodes += count;
    if (nodes > bounds.maxNodes) throw new Refused(`more than ${bounds.maxNodes} values`);
  };
  const root: { value?: unknown } = {};
  const stack: Pending[] = [{ source: input, parent: root, key: "value", depth: 0 }];
  if (bounds.maxNodes < 1) throw new Refused(`more than ${bounds.maxNodes} values`);
  while (stack.length > 0) {
    const { source, parent, key, depth } = stack.pop() as Pending;
    let copy: unknown;
    if (source === null || source === undefined || typeof source === "boolean") {
      copy = source;
    } else if (typeof source === "number") {
      if (!Number.isFinite(source)) throw new Refused("a number is not finite");
      copy = source;
    } else if (typeof source === "string") {
      addChars(source.length);
      copy = source;
    } else if (typeof source === "object") {
      if (depth >= bounds.maxDepth) throw new Refused(`nested deeper than ${bounds.maxDepth}`);
      if (Array.isArray(source)) {
        // Read the length once and bound it before allocating or visiting anything (L87).
        const length = source.length;
        if (length > maxArrayLength)
          throw new Refused(`an array is longer than ${maxArrayLength} items`);
        addNodes(length);
        // Filled in index order as the elements are popped, so it stays a packed array.
        const target: unknown[] = [];
        for (let index = length - 1; index >= 0; index--) {
          stack.push({
            source: source[index],
            parent: target as unknown as Record<number, unknown>,
            key: index,
            depth: depth + 1,
          });
        }
        copy = target;
      } else if (source instanceof Date) {
        copy = new Date(source.getTime());
      } else {
        const prototype = Object.getPrototypeOf(source);
        if (prototype !== Object.prototype && prototype !== null) {
          throw new Refused("arguments must be plain JSON values");
        }
        const target: Record<string, unknown> = {};
        // Enumerating the names is the one step whose cost is the object's own size (JavaScript
        // has no cheaper way to count members); nothing is visited before the count is bounded.
        const names = Object.keys(source);
        if (names.length > maxKeys) throw new Refused(`an object has more than ${maxKeys} members`);
        addNodes(names.length);
        for (let index = names.length - 1; index >= 0; index--) {
          const name = names[index] as string;
          if (FORBIDDEN.has(name)) throw new Refused(`member name "${name}" is not allowed`);
          addChars(name.length);
          stack.push({
            source: (source as Record<string, unknown>)[name],
            parent: target,
            key: name,
            depth: depth + 1,
          });
        }
        copy = target;
      }
    } else {
      throw new Refused(`a ${typeof source} is not a JSON value`);
    }
    parent[key] = copy;
  }
  return root.value;
}

/** Freezes `value` and everything inside it, iteratively. */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    // Primitives count as frozen (ES2015), so only unfrozen objects and arrays get past this.
    if (Object.isFrozen(current)) continue;
    Object.freeze(current);
    for (const key of Object.keys(current as object))
      stack.push((current as Record<string, unknown>)[key]);
  }
  return value;
}
