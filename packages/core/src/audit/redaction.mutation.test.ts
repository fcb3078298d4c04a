import { describe, expect, it } from "vitest";
import { createRedactor } from "./redaction.js";

// Each test pins down a behaviour of the redactor that a mutation of redaction.ts changed
// without any other test noticing (MUTATION.md).

const M = "[REDACTED]";

describe("createRedactor, exactly", () => {
  it("E44: every spelling of a secret member name the default pattern lists is masked, and only those", () => {
    const redact = createRedactor();
    const secretNames = [
      "pass",
      "passwd",
      "passphrase",
      "api-key",
      "api_key",
      "api key",
      "apikey",
      "x-auth",
      "auth-mode",
      "socialsecurity",
      "social-security",
      "privatekey",
      "private-key",
      "cardnumber",
      "card-number",
    ];
    const input = Object.fromEntries(secretNames.map((name) => [name, "v"]));
    expect(redact(input)).toEqual(Object.fromEntries(secretNames.map((name) => [name, M])));
    // `auth` only as a word of its own: these are not secret names.
    expect(redact({ author: "a", oauthor: "b", api: "c" })).toEqual({
      author: "a",
      oauthor: "b",
      api: "c",
    });
  });

  it("hash mode hashes only with a hash function; mask mode masks even when one is given", () => {
    const hash = (value: string) => `h(${value})`;
    expect(createRedactor({ mode: "hash" })({ password: "p" })).toEqual({ password: M });
    expect(createRedactor({ mode: "mask", hash })({ password: "p" })).toEqual({ password: M });
    expect(createRedactor({ mode: "hash", hash })({ password: "p" })).toEqual({
      password: "hash:h(p)",
    });
  });

  it("hash mode digests non-string values as their JSON, and undefined as the empty string", () => {
    const seen: unknown[] = [];
    const hash = (value: string) => {
      seen.push(value);
      return "d";
    };
    const redact = createRedactor({ mode: "hash", hash });
    expect(redact({ password: { a: 1 }, token: 7, secret: undefined })).toEqual({
      password: "hash:d",
      token: "hash:d",
      secret: "hash:d",
    });
    expect(seen).toEqual(['{"a":1}', "7", ""]);
  });

  it("null, empty containers and values JSON cannot hold are copied as what they are", () => {
    const redact = createRedactor();
    expect(
      redact({ n: null, a: [], o: {}, b: 10n, f: () => 1, s: Symbol("x"), u: undefined, t: true }),
    ).toEqual({
      n: null,
      a: [],
      o: {},
      b: "bigint",
      f: "function",
      s: "symbol",
      u: undefined,
      t: true,
    });
    expect(redact([[], [null]])).toEqual([[], [null]]);
  });

  it("a string of exactly the length bound is kept whole; one more character is cut", () => {
    const redact = createRedactor({ maxStringLength: 5 });
    expect(redact("abcde")).toBe("abcde");
    expect(redact("abcdef")).toBe("abcde…[TRUNCATED]");
  });

  it("a 13-digit card number (the shortest) is masked; the Luhn check decides, with doubled digits above 9", () => {
    const redact = createRedactor({ freeText: false });
    expect(redact("4222222222222")).toBe(M);
    expect(redact("card 5555555555554444 ok")).toBe(`card ${M} ok`);
    expect(redact("card 5555555555554445 ok")).toBe("card 5555555555554445 ok");
    // Luhn-valid only when each doubled digit above 9 has 9 taken off.
    expect(redact("9876543210123452")).toBe(M);
  });

  it("E44: only two base64url JSON segments in a row are a token; lone `eyJ` segments are kept", () => {
    const redact = createRedactor({ freeText: false });
    expect(redact("abc.eyJhbGc.def")).toBe("abc.eyJhbGc.def");
    expect(redact("x.eyJabc")).toBe("x.eyJabc");
    expect(redact("eyJabc")).toBe("eyJabc");
    expect(redact("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln")).toBe(M);
    expect(redact("id=eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln.tail")).toBe(`id=${M}.tail`);
  });

  it("empty parts of a configured path are ignored", () => {
    const redact = createRedactor({ paths: ["customer.email.", ".card..number"] });
    expect(redact({ customer: { email: "a@b.c", name: "n" }, card: { number: "1" } })).toEqual({
      customer: { email: M, name: "n" },
      card: { number: M },
    });
    expect(redact({ x: 1 }, ["x."])).toEqual({ x: M });
  });
});
