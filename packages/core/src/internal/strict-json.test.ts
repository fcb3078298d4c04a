import { describe, expect, it } from "vitest";
import { parseStrictJson, StrictJsonError } from "./strict-json.js";

const limits = { maxDepth: 8 };

describe("parseStrictJson", () => {
  it("parses what JSON.parse parses", () => {
    const text = '{"a":[1,2.5e3,-0.1,true,false,null,"x\\"y"],"b":{"c":"\\u00e9"}}';
    expect(parseStrictJson(text, limits)).toEqual(JSON.parse(text));
  });

  it("I65: refuses duplicate member names, also when one is escaped", () => {
    expect(() => parseStrictJson('{"alg":"EdDSA","alg":"none"}', limits)).toThrow(StrictJsonError);
    expect(() => parseStrictJson('{"alg":"EdDSA","\\u0061lg":"none"}', limits)).toThrow(
      /duplicate/,
    );
    expect(parseStrictJson('{"a":{"x":1},"b":{"x":1}}', limits)).toEqual({
      a: { x: 1 },
      b: { x: 1 },
    });
  });

  it("G53: refuses __proto__, constructor and prototype members", () => {
    for (const key of ["__proto__", "constructor", "prototype", "\\u005f_proto__"]) {
      expect(() => parseStrictJson(`{"${key}":{"polluted":true}}`, limits)).toThrow(/forbidden/);
    }
  });

  it("G54: bounds depth before recursing (10k levels fail fast, without a RangeError)", () => {
    const deep = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
    expect(() => parseStrictJson(deep, limits)).toThrow(StrictJsonError);
    expect(parseStrictJson("[[[[[[[[]]]]]]]]", limits)).toBeDefined();
    expect(() => parseStrictJson("[[[[[[[[[]]]]]]]]]", limits)).toThrow(/deeper/);
  });

  it("refuses malformed text", () => {
    for (const text of ["", "{", '{"a":}', '{"a" 1}', "[1,]", '{"a":1}x', "tru", '"\\x"']) {
      expect(() => parseStrictJson(text, limits)).toThrow(StrictJsonError);
    }
  });
});
