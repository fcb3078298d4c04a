import { describe, expect, it } from "vitest";
import { boundedCopy, type CopyBounds, deepFreeze } from "./bounded-copy.js";

const BOUNDS: CopyBounds = { maxDepth: 4, maxNodes: 20, maxChars: 40 };

function refusal(input: unknown, bounds: CopyBounds = BOUNDS): string {
  const result = boundedCopy(input, bounds);
  if (result.ok) throw new Error(`accepted ${JSON.stringify(result.value)}`);
  return result.reason;
}

/** An array whose every element read throws: proves no element is visited before a refusal. */
function untouchable(length: number): unknown[] {
  return new Proxy([] as unknown[], {
    get(target, key, receiver) {
      if (key === "length") return length;
      if (typeof key === "string" && /^\d+$/.test(key)) throw new Error(`element ${key} was read`);
      return Reflect.get(target, key, receiver);
    },
  });
}

describe("boundedCopy: every bound holds on its own (G54)", () => {
  it("G54: copies plain JSON values exactly, member order and holes kept, into fresh objects", () => {
    const input = { b: 1, a: [true, null, "x", { c: -0.5 }], d: { e: undefined } };
    const result = boundedCopy(input, BOUNDS);
    expect(result).toEqual({ ok: true, value: input });
    if (!result.ok) return;
    const value = result.value as typeof input;
    expect(Object.keys(value)).toEqual(["b", "a", "d"]);
    expect(value).not.toBe(input);
    expect(value.a).not.toBe(input.a);
    expect(value.a[3]).not.toBe(input.a[3]);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    // biome-ignore lint/suspicious/noSparseArray: a hole is the point
    const holes = boundedCopy([1, , 3], BOUNDS);
    expect(holes.ok && (holes.value as unknown[]).length).toBe(3);
    expect(boundedCopy("x", BOUNDS)).toEqual({ ok: true, value: "x" });
    expect(boundedCopy(undefined, BOUNDS)).toEqual({ ok: true, value: undefined });
  });

  it("G54: the depth bound alone refuses nesting one level past it, and allows it at the bound", () => {
    const wide = { maxDepth: 4, maxNodes: 1000, maxChars: 1000 };
    expect(boundedCopy({ a: { b: { c: { d: 1 } } } }, wide).ok).toBe(true);
    expect(refusal({ a: { b: { c: { d: { e: 1 } } } } }, wide)).toBe("nested deeper than 4");
    expect(refusal([[[[[]]]]], wide)).toBe("nested deeper than 4");
    let deep: unknown = "x";
    for (let level = 0; level < 10_000; level++) deep = [deep];
    expect(refusal(deep, { maxDepth: 32, maxNodes: 1_000_000, maxChars: 1000 })).toBe(
      "nested deeper than 32",
    );
  });

  it("G54: the node bound counts every value, containers and holes included", () => {
    expect(boundedCopy([1, 2, 3], { maxDepth: 4, maxNodes: 4, maxChars: 10 }).ok).toBe(true);
    expect(refusal([1, 2, 3, 4], { maxDepth: 4, maxNodes: 4, maxChars: 10 })).toBe(
      "more than 4 values",
    );
    expect(refusal({ a: 1, b: 2, c: 3, d: 4 }, { maxDepth: 4, maxNodes: 4, maxChars: 10 })).toBe(
      "more than 4 values",
    );
    expect(refusal(new Array(4), { maxDepth: 4, maxNodes: 4, maxChars: 10 })).toBe(
      "more than 4 values",
    );
    expect(refusal(1, { maxDepth: 4, maxNodes: 0, maxChars: 10 })).toBe("more than 0 values");
    expect(boundedCopy(1, { maxDepth: 4, maxNodes: 1, maxChars: 10 })).toEqual({
      ok: true,
      value: 1,
    });
    expect(refusal([], { maxDepth: 4, maxNodes: 0, maxChars: 10 })).toBe("more than 0 values");
  });

  it("G54: the total character bound counts strings and member names", () => {
    expect(boundedCopy({ ab: "cd" }, { ...BOUNDS, maxChars: 4 }).ok).toBe(true);
    expect(refusal({ ab: "cde" }, { ...BOUNDS, maxChars: 4 })).toBe("more than 4 characters");
    expect(refusal({ abcde: 1 }, { ...BOUNDS, maxChars: 4, maxStringLength: 100 })).toBe(
      "more than 4 characters",
    );
    expect(refusal(["ab", "cd", "e"], { ...BOUNDS, maxChars: 4 })).toBe("more than 4 characters");
  });

  it("G54: one string longer than the string bound is refused even within the total", () => {
    const bounds = { ...BOUNDS, maxChars: 100, maxStringLength: 3 };
    expect(boundedCopy(["abc", "def"], bounds).ok).toBe(true);
    expect(refusal(["abcd"], bounds)).toBe("a string is longer than 3 characters");
    expect(refusal({ abcd: 1 }, bounds)).toBe("a string is longer than 3 characters");
  });

  it("G54: the array length and member count bounds hold below the node bound", () => {
    const bounds = { ...BOUNDS, maxNodes: 100, maxArrayLength: 2, maxKeys: 2 };
    expect(boundedCopy({ a: [1, 2], b: [3, 4] }, bounds).ok).toBe(true);
    expect(refusal([1, 2, 3], bounds)).toBe("an array is longer than 2 items");
    expect(refusal({ a: 1, b: 2, c: 3 }, bounds)).toBe("an object has more than 2 members");
  });

  it("G52: non-JSON values are refused: functions, symbols, bigints, non-finite numbers, class instances", () => {
    for (const [value, reason] of [
      [() => 1, "a function is not a JSON value"],
      [Symbol("s"), "a symbol is not a JSON value"],
      [10n, "a bigint is not a JSON value"],
      [Number.NaN, "a number is not finite"],
      [Number.POSITIVE_INFINITY, "a number is not finite"],
      [new Map(), "arguments must be plain JSON values"],
      [{ at: new (class Point {})() }, "arguments must be plain JSON values"],
    ] as const) {
      expect(refusal(value)).toBe(reason);
    }
    const when = new Date(5);
    const copy = boundedCopy({ when }, BOUNDS);
    expect(copy.ok && (copy.value as { when: Date }).when.getTime()).toBe(5);
    expect(copy.ok && (copy.value as { when: Date }).when).not.toBe(when);
    expect(boundedCopy(Object.create(null), BOUNDS).ok).toBe(true);
  });

  it("G53: prototype-polluting member names are refused, at any depth", () => {
    for (const text of ['{"__proto__":1}', '{"a":{"constructor":1}}', '[{"prototype":1}]']) {
      expect(refusal(JSON.parse(text))).toMatch(/^member name "(__proto__|constructor|prototype)"/);
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("G52: a getter or proxy trap that throws is a refusal, never an exception", () => {
    const hostile = {
      get boom(): never {
        throw new TypeError("no");
      },
    };
    expect(refusal(hostile)).toBe("arguments could not be read as plain JSON values");
    expect(refusal(untouchable(3), { ...BOUNDS, maxNodes: 100 })).toBe(
      "arguments could not be read as plain JSON values",
    );
  });
});

describe("boundedCopy: hostile sizes are refused before they are walked (L87)", () => {
  const GATE = { maxDepth: 32, maxNodes: 10_000, maxChars: 1_048_576 };

  it("L87: an array's length is bounded before any element is read or any slot allocated", () => {
    expect(refusal(untouchable(2 ** 32 - 1), GATE)).toBe("an array is longer than 10000 items");
    expect(refusal(untouchable(10_000), GATE)).toBe("more than 10000 values");
    expect(refusal({ a: untouchable(9_999) }, GATE)).toBe("more than 10000 values");
  });

  it("L87: a sparse array of length 2^32−1, a 5,000,000-slot sparse array and a 2,000,000-item array are refused", () => {
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    sparse[7] = "x";
    const fiveMillion: unknown[] = [];
    fiveMillion[4_999_999] = 1;
    const dense = new Array<number>(2_000_000).fill(7);
    expect(refusal({ items: sparse }, GATE)).toBe("an array is longer than 10000 items");
    expect(refusal({ items: fiveMillion }, GATE)).toBe("an array is longer than 10000 items");
    expect(refusal(dense, GATE)).toBe("an array is longer than 10000 items");
  });

  it("L87: an object with more members than the bound is refused before any member is read", () => {
    let read = 0;
    const many: Record<string, unknown> = {};
    for (let index = 0; index < 20_000; index++) {
      Object.defineProperty(many, `k${index}`, {
        enumerable: true,
        get: () => {
          read++;
          return 1;
        },
      });
    }
    expect(refusal(many, GATE)).toBe("an object has more than 10000 members");
    expect(read).toBe(0);
    expect(refusal({ a: [1, 2], b: many }, { ...GATE, maxKeys: 100_000 })).toBe(
      "more than 10000 values",
    );
  });
});

describe("deepFreeze", () => {
  it("freezes every nested object and array, and returns its input", () => {
    const value = { a: [{ b: 1 }], c: { d: {} } };
    expect(deepFreeze(value)).toBe(value);
    expect(Object.isFrozen(value.a[0])).toBe(true);
    expect(Object.isFrozen(value.c.d)).toBe(true);
    expect(deepFreeze("x")).toBe("x");
  });
});
