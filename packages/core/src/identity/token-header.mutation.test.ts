import { base64url, errors as joseErrors } from "jose";
import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { decodeSegment, fromJoseError, splitCompact } from "./token-header.js";

// The compact form and the jose failures as AgentGate names them (MUTATION.md, `token-verifier`
// re-run): every segment base64url from its first character, header text strictly UTF-8, and
// each jose code a verification can raise mapped to its own check.

function checkOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    if (isAgentGateError(error)) return `${error.code}/${String(error.details?.check)}`;
    throw error;
  }
  return "accepted";
}

describe("splitCompact", () => {
  it("A15: a segment with a character outside base64url anywhere, its first included, is a format refusal", () => {
    expect(splitCompact("abc.def.ghi", 4096)).toEqual(["abc", "def", "ghi"]);
    for (const token of ["+abc.def.ghi", "abc.=def.ghi", "abc.def.ghi/", "a bc.def.ghi"])
      expect(
        checkOf(() => splitCompact(token, 4096)),
        token,
      ).toBe("token_invalid/format");
  });
});

describe("decodeSegment", () => {
  it("A15: a header that is not valid UTF-8 is refused, never read with replacement characters", () => {
    const valid = base64url.encode(JSON.stringify({ alg: "ES256", typ: "agent+jwt" }));
    expect(decodeSegment(valid, "header", 4)).toEqual({ alg: "ES256", typ: "agent+jwt" });
    // {"typ":"<0xff>"}: well-formed JSON once a lenient decoder replaces the byte.
    const bytes = Uint8Array.from([...Buffer.from('{"typ":"'), 0xff, ...Buffer.from('"}')]);
    expect(checkOf(() => decodeSegment(base64url.encode(bytes), "header", 4))).toBe(
      "token_invalid/format",
    );
  });
});

describe("fromJoseError", () => {
  it("each jose code a verification raises is its own check, with the code kept for administrators", () => {
    const cases: [Error, string][] = [
      [new joseErrors.JWSSignatureVerificationFailed(), "signature"],
      [new joseErrors.JWSInvalid("x"), "format"],
      [new joseErrors.JWTInvalid("x"), "format"],
      [new joseErrors.JOSEAlgNotAllowed("x"), "alg"],
      [new joseErrors.JOSENotSupported("x"), "alg"],
      [new joseErrors.JWKSNoMatchingKey(), "signature"],
      [new TypeError("x"), "signature"],
    ];
    for (const [error, check] of cases) {
      const refusal = fromJoseError(error);
      expect(refusal.code, error.name).toBe("token_invalid");
      expect(refusal.details?.check, error.name).toBe(check);
      expect(refusal.cause).toBe(error);
      if (error instanceof joseErrors.JOSEError) expect(refusal.details?.jose).toBe(error.code);
      else expect(refusal.details).toEqual({ check: "signature" });
    }
  });
});
