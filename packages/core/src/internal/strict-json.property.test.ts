import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseStrictJson, StrictJsonError } from "./strict-json.js";

// Property-based tests (fast-check) for the strict JSON reader that decodes token headers and
// claims (A18, I65, G53, G54). Its own failures are StrictJsonError, which the verifier turns into
// `token_invalid`; nothing else may escape.
const LIMITS = { maxDepth: 8 };
const json = fc.jsonValue({ maxDepth: 6 }).filter((value) => !hasForbidden(value));

function hasForbidden(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  return Object.entries(value).some(
    ([key, inner]) =>
      ["__proto__", "constructor", "prototype"].includes(key) || hasForbidden(inner),
  );
}

function outcome(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: parseStrictJson(text, LIMITS) };
  } catch (error) {
    expect(error).toBeInstanceOf(StrictJsonError);
    return { ok: false };
  }
}

describe("parseStrictJson: properties", () => {
  it("A18: any text is parsed or refused with a StrictJsonError, and what it accepts JSON.parse reads the same", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: "binary" }),
          json.map((value) => JSON.stringify(value)),
        ),
        (text) => {
          const result = outcome(text);
          if (result.ok) expect(result.value).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("A18: every JSON value without forbidden names round-trips, pretty-printed or not", () => {
    fc.assert(
      fc.property(json, fc.boolean(), (value, pretty) => {
        const text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
        expect(outcome(text)).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 2000 },
    );
  });

  it("I65: an object with a member name repeated is always refused", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), json, { minKeys: 1, maxKeys: 5 }),
        fc.nat(),
        json,
        (object, at, extra) => {
          const keys = Object.keys(object).filter(
            (key) => !["__proto__", "constructor", "prototype"].includes(key),
          );
          if (keys.length === 0) return;
          const key = keys[at % keys.length] as string;
          const text = `${JSON.stringify(object).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(extra)}}`;
          expect(outcome(text)).toEqual({ ok: false });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("G54: nesting past the bound is refused whatever the brackets", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("[", '{"a":'), { minLength: 9, maxLength: 200 }),
        (opens) => {
          const closes = opens
            .map((open) => (open === "[" ? "]" : "}"))
            .reverse()
            .join("");
          expect(outcome(`${opens.join("")}1${closes}`)).toEqual({ ok: false });
        },
      ),
    );
  });
});
