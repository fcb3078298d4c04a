// The argument copy as it was before bounds were checked ahead of the walk (issue 22), kept only
// so that `bench/bounded-copy.mjs` can measure a normal copy before and after. Never imported by
// the library.

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

export function boundedCopyBefore(input, bounds) {
  let nodes = 0;
  let chars = 0;
  const root = {};
  const stack = [{ source: input, assign: (value) => (root.value = value), depth: 0 }];
  while (stack.length > 0) {
    const { source, assign, depth } = stack.pop();
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
        const target = new Array(source.length);
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
        const target = {};
        assign(target);
        for (const key of Object.keys(source)) {
          if (FORBIDDEN.has(key))
            return { ok: false, reason: `member name "${key}" is not allowed` };
          chars += key.length;
          if (chars > bounds.maxChars)
            return { ok: false, reason: `more than ${bounds.maxChars} characters` };
          const value = source[key];
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
