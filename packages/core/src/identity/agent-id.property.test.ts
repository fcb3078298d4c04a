import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { AgentId, MAX_AGENT_ID_LENGTH } from "./agent-id.js";

// Property-based tests (fast-check): random and adversarial input never throws anything but an
// AgentGateError and never yields an id that is not in the canonical form (G55).
const CANONICAL =
  /^spiffe:\/\/[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?\/agent(?:\/[a-z0-9_-][a-z0-9._-]*)+$/;
const segment = fc.stringMatching(/^[a-z0-9_-][a-z0-9._-]{0,15}$/);
const validId = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9](?:[a-z0-9.-]{0,20}[a-z0-9])?$/),
    fc.array(segment, { minLength: 1, maxLength: 3 }),
  )
  .filter(([, names]) => names.every((name) => name !== "." && name !== ".."))
  .map(([domain, names]) => `spiffe://${domain}/agent/${names.join("/")}`);
/** Characters that make a name look like another: invisible, look-alike, full-width, RTL, control. */
const disguise = fc.constantFrom(
  "\u200b",
  "\u200d",
  "\ufeff",
  "\u202e",
  "\u200f",
  "\u0000",
  " ",
  "\t",
  "\u043e",
  "\u0430",
  "\uff41",
  "\u0301",
  "A",
  "Z",
  "%",
  "%2F",
  "?",
  "#",
  ":",
  "@",
  "\u00e9",
);

function parseOutcome(value: string): AgentId | undefined {
  try {
    return AgentId.parse(value);
  } catch (error) {
    expect(isAgentGateError(error) && error.code === "invalid_agent_id").toBe(true);
    return undefined;
  }
}

describe("AgentId: properties (G55)", () => {
  it("G55: any string is either refused with invalid_agent_id or accepted exactly as its canonical self", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), validId), (value) => {
        const id = parseOutcome(value);
        expect(AgentId.tryParse(value)).toBe(id);
        if (id === undefined) return;
        expect(value).toMatch(CANONICAL);
        expect(value.length).toBeLessThanOrEqual(MAX_AGENT_ID_LENGTH);
        expect(value.normalize("NFC")).toBe(value);
        expect(id.toString()).toBe(value);
        expect(AgentId.of(id.trustDomain, id.name).equals(id)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("G55: a valid id with any disguising character inserted anywhere is refused", () => {
    fc.assert(
      fc.property(validId, disguise, fc.nat(), (id, char, at) => {
        const index = at % (id.length + 1);
        const disguised = id.slice(0, index) + char + id.slice(index);
        expect(parseOutcome(id)).toBeDefined();
        expect(parseOutcome(disguised)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});
