/**
 * Copies untrusted, JSON-like input (tool arguments) into fresh plain objects, iteratively, with
 * hard bounds on depth, node count and total string length, so that huge or deeply nested input
 * costs bounded work and never overflows the stack (SECURITY.md G54), and refusing the member
 * names that pollute prototypes (G53). The copy is what policy sees and what the tool receives,
 * so later changes to the caller's object change nothing (I64).
 */

/** Bounds of {@link boundedCopy}. */
export interface CopyBounds {
  readonly maxDepth: number;
  readonly maxNodes: number;
  /** Sum of the lengths of all strings and member names. */
  readonly maxChars: number;
}

/** The result of {@link boundedCopy}. */
export type CopyResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: string };

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

export function boundedCopy(input: unknown, bounds: CopyBounds): CopyResult {
  let nodes = 0;
  let chars = 0;
  const root: { value?: unknown } = {};
  const stack: Array<{ source: unknown; assign: (value: unknown) => void; depth: number }> = [
    { source: input, assign: (value) => (root.value = value), depth: 0 },
  ];
  while (stack.length > 0) {
    const { source, assign, depth } = stack.pop() as (typeof stack)[number];
    if (++nodes > bounds.maxNodes)
      return { ok: false, reason: `more than ${bounds.maxNodes} values` };
    if (source === null || typeof source === "boolean") {
      assign(source);
    } else if (typeof source === "number") {
      if (!Number.isFinite(source)) return { ok: false, reason: "a number is not finite" };
      assign(source);
    } else if (typeof source === "string") {
      chars += source.length;
      if (chars > bounds.maxChars)
        return { ok: false, reason: `more than ${bounds.maxChars} characters` };
      assign(source);
    } else if (typeof source === "object") {
      if (depth >= bounds.maxDepth)
        return { ok: false, reason: `nested deeper than ${bounds.maxDepth}` };
      if (Array.isArray(source)) {
        const target: unknown[] = new Array(source.length);
        assign(target);
        for (let index = source.length - 1; index >= 0; index--) {
          stack.push({
            source: source[index],
            assign: (value) => (target[index] = value),
            depth: depth + 1,
          });
        }
      } else if (source instanceof Date) {
        assign(new Date(source.getTime()));
      } else {
        const prototype = Object.getPrototypeOf(source);
        if (prototype !== Object.prototype && prototype !== null) {
          return { ok: false, reason: "arguments must be plain JSON values" };
        }
        const target: Record<string, unknown> = {};
        assign(target);
        for (const key of Object.keys(source)) {
          if (FORBIDDEN.has(key))
            return { ok: false, reason: `member name "${key}" is not allowed` };
          chars += key.length;
          if (chars > bounds.maxChars)
            return { ok: false, reason: `more than ${bounds.maxChars} characters` };
          const value = (source as Record<string, unknown>)[key];
          stack.push({ source: value, assign: (copy) => (target[key] = copy), depth: depth + 1 });
        }
      }
    } else if (source === undefined) {
      assign(undefined);
    } else {
      return { ok: false, reason: `a ${typeof source} is not a JSON value` };
    }
  }
  return { ok: true, value: root.value };
}

/** Freezes `value` and everything inside it, iteratively. */
export function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== "object" || current === null || Object.isFrozen(current)) continue;
    Object.freeze(current);
    for (const key of Object.keys(current)) stack.push((current as Record<string, unknown>)[key]);
  }
  return value;
}
