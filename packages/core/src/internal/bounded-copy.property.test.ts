import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundedCopy, type CopyBounds } from "./bounded-copy.js";

// Property-based tests (fast-check) for the argument copy (G52–G54, L87): it never throws, never
// accepts a value past a bound, and copies what it accepts exactly.
const BOUNDS: CopyBounds = {
  maxDepth: 6,
  maxNodes: 200,
  maxChars: 2000,
  maxKeys: 20,
  maxStringLength: 100,
};

/** Nodes, depth, characters, widest object, longest array and string of a JSON value. */
function measure(
  value: unknown,
  depth = 0,
): { nodes: number; depth: number; chars: number; keys: number; items: number; string: number } {
  const size = { nodes: 1, depth: 0, chars: 0, keys: 0, items: 0, string: 0 };
  if (typeof value === "string") return { ...size, chars: value.length, string: value.length };
  if (typeof value !== "object" || value === null) return size;
  const entries = Array.isArray(value)
    ? [...value.entries()].map(([, v]) => ["", v] as const)
    : Object.entries(value);
  size.depth = depth + 1;
  if (Array.isArray(value)) size.items = value.length;
  else size.keys = entries.length;
  for (const [key, inner] of entries) {
    const child = measure(inner, depth + 1);
    size.nodes += child.nodes;
    size.chars += child.chars + key.length;
    size.depth = Math.max(size.depth, child.depth);
    size.keys = Math.max(size.keys, child.keys);
    size.items = Math.max(size.items, child.items);
    size.string = Math.max(size.string, child.string, key.length);
  }
  return size;
}

function within(value: unknown): boolean {
  const size = measure(value);
  return (
    size.nodes <= BOUNDS.maxNodes &&
    size.depth <= BOUNDS.maxDepth &&
    size.chars <= BOUNDS.maxChars &&
    size.keys <= (BOUNDS.maxKeys as number) &&
    size.items <= BOUNDS.maxNodes &&
    size.string <= (BOUNDS.maxStringLength as number)
  );
}

const json = fc
  .jsonValue({ maxDepth: 8 })
  .filter((value) => !/"(__proto__|constructor|prototype)":/.test(JSON.stringify(value)));

describe("boundedCopy: properties", () => {
  it("G54: a JSON value is accepted exactly when it is within every bound, and copied exactly", () => {
    fc.assert(
      fc.property(json, (value) => {
        const result = boundedCopy(value, BOUNDS);
        expect(result.ok).toBe(within(value));
        if (result.ok) {
          expect(result.value).toEqual(value);
          if (typeof value === "object" && value !== null) expect(result.value).not.toBe(value);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("G52: anything at all is copied or refused with a reason, never thrown", () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withMap: true,
          withSet: true,
          withDate: true,
          withTypedArray: true,
          withSparseArray: true,
          withNullPrototype: true,
          withObjectString: true,
          withBoxedValues: true,
        }),
        (value) => {
          const result = boundedCopy(value, BOUNDS);
          if (!result.ok) expect(typeof result.reason).toBe("string");
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("L87: a sparse array of any length past the bound is refused without visiting an element", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: BOUNDS.maxNodes, max: 2 ** 32 - 1 }),
        fc.nat(),
        (length, at) => {
          const sparse: unknown[] = [];
          sparse.length = length;
          sparse[at % length] = "x";
          expect(boundedCopy({ items: sparse }, BOUNDS)).toEqual({
            ok: false,
            reason: expect.stringMatching(/items|values/),
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
