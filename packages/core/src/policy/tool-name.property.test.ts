import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { isServerId, isToolName, parseServerId, parseToolName } from "./tool-name.js";

// Property-based tests (fast-check) for the canonical form of tool names and server ids (L88).
const TOOL = /^[a-z0-9_][a-z0-9_.-]{0,127}$/;
const SERVER = /^(?=.{1,128}$)[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?$/;
const validName = fc.stringMatching(/^[a-z0-9_][a-z0-9_.-]{0,30}$/);
const outsider = fc
  .string({ unit: "binary", minLength: 1, maxLength: 1 })
  .filter((char) => !/^[a-z0-9_.-]$/.test(char));

function outcome(parse: () => string): string | undefined {
  try {
    return parse();
  } catch (error) {
    expect(isAgentGateError(error) && error.code === "invalid_arguments").toBe(true);
    return undefined;
  }
}

describe("tool names and server ids: properties (L88)", () => {
  it("L88: any string is refused with invalid_arguments, or accepted unchanged exactly when it is canonical", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), validName), (value) => {
        const name = outcome(() => parseToolName(value, "received"));
        expect(name === value).toBe(TOOL.test(value));
        expect(isToolName(value)).toBe(TOOL.test(value));
        const server = outcome(() => parseServerId(value, "received"));
        expect(server === value).toBe(SERVER.test(value));
        expect(isServerId(value)).toBe(SERVER.test(value));
      }),
      { numRuns: 3000 },
    );
  });

  it("L88: inserting any character outside the set into a canonical name, or upper-casing a letter, is refused", () => {
    fc.assert(
      fc.property(validName, outsider, fc.nat(), (name, char, at) => {
        const index = at % (name.length + 1);
        expect(isToolName(name)).toBe(true);
        expect(isToolName(name.slice(0, index) + char + name.slice(index))).toBe(false);
        if (/[a-z]/.test(name)) expect(isToolName(name.toUpperCase())).toBe(false);
        expect(isToolName(name.normalize("NFD"))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("L88: non-strings are refused too, never thrown past as another error", () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        if (typeof value === "string") return;
        expect(outcome(() => parseToolName(value, "received"))).toBeUndefined();
        expect(outcome(() => parseServerId(value, "received"))).toBeUndefined();
      }),
    );
  });
});
