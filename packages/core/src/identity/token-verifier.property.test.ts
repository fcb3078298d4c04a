import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AUDIENCE, makeIdentity, SUPPORT } from "../../test/fixtures/identity.js";
import { isAgentGateError } from "../errors.js";

// Property-based tests (fast-check) for the compact JWS splitter and everything after it (A4,
// A18): random text, random three-segment base64url, and one-character mutations of a good
// token are refused with an AgentGateError, never another exception, and a mutation is accepted
// only when it is a signature twin of the same token (same jti, J70).
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const segment = fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 120 });

async function outcome(promise: Promise<{ tokenId: string }>): Promise<string> {
  try {
    return `ok:${(await promise).tokenId}`;
  } catch (error) {
    expect(isAgentGateError(error)).toBe(true);
    return "refused";
  }
}

describe("TokenVerifier: properties", () => {
  it("A18: random text and random compact-looking strings are refused with an AgentGateError", async () => {
    const { verifier } = await makeIdentity();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string({ unit: "binary" }),
          fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join(".")),
          fc.tuple(segment, segment, segment).map((parts) => `eyJ${parts.join(".eyJ")}`),
        ),
        async (token) => {
          expect(await outcome(verifier.verify(token, { audience: AUDIENCE }))).toBe("refused");
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("A4: a one-character change anywhere in a good token is refused, unless it is a twin of the same token", async () => {
    const { authority, verifier } = await makeIdentity();
    const { token, tokenId } = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.constantFrom(...BASE64URL, ".", "=", "+", "/", " ", "\u0000"),
        async (at, char) => {
          if (token[at] === char) return;
          const mutated = token.slice(0, at) + char + token.slice(at + 1);
          const result = await outcome(verifier.verify(mutated, { audience: AUDIENCE }));
          if (result !== "refused") {
            // Only the last signature character has unused bits (J70).
            expect(result).toBe(`ok:${tokenId}`);
            expect(at).toBe(token.length - 1);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
