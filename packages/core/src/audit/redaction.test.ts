import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PATIENCE_MS } from "../../test/fixtures/poll.js";
import { createRedactor } from "./redaction.js";

const JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

describe("createRedactor", () => {
  it("E44: masks secret-named members, configured paths, obligation paths, JWTs and card numbers", () => {
    const redact = createRedactor({ paths: ["customer.email", "items.*.note"] });
    const input = {
      password: "hunter2",
      apiKey: "sk-live-123",
      Authorization: `Bearer ${JWT}`,
      customer: { email: "carol@acme.example", name: "Carol" },
      items: [{ note: "private", sku: "A1" }],
      memo: `card 4111 1111 1111 1111, token ${JWT}, order 1234567890123`,
      ssn: "123-45-6789",
      nested: { deeper: { client_secret: "s3cr3t" } },
    };
    const output = redact(input, ["customer.name"]);
    expect(output).toEqual({
      password: "[REDACTED]",
      apiKey: "[REDACTED]",
      Authorization: "[REDACTED]",
      customer: { email: "[REDACTED]", name: "[REDACTED]" },
      items: [{ note: "[REDACTED]", sku: "A1" }],
      memo: "card [REDACTED], token [REDACTED], order 1234567890123",
      ssn: "[REDACTED]",
      nested: { deeper: { client_secret: "[REDACTED]" } },
    });
    const text = JSON.stringify(output);
    for (const secret of [
      "hunter2",
      "sk-live-123",
      "4111 1111",
      "123-45-6789",
      "s3cr3t",
      "carol@acme",
      JWT,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(input.password).toBe("hunter2"); // the input is not touched
  });

  it("E44: a secret written into free text never reaches the event: an SSN in prose is masked", () => {
    const output = createRedactor()({
      note: "Caller gave ssn 123-45-6789 and asked for a refund",
      items: [{ comment: "SSN: 078-05-1120" }],
    });
    const text = JSON.stringify(output);
    expect(text).not.toContain("123-45-6789");
    expect(text).not.toContain("078-05-1120");
    expect(output).toEqual({
      note: "Caller gave ssn [REDACTED] and asked for a refund",
      items: [{ comment: "SSN: [REDACTED]" }],
    });
  });

  it("drops or hashes (keyed) instead of masking when asked", () => {
    const key = "audit-hmac-key";
    const hashed = createRedactor({
      mode: "hash",
      hash: (value) => createHmac("sha256", key).update(value).digest("hex").slice(0, 16),
    });
    expect(hashed({ password: "hunter2" })).toEqual({
      password: `hash:${createHmac("sha256", key).update("hunter2").digest("hex").slice(0, 16)}`,
    });
    expect(createRedactor({ mode: "drop" })({ password: "x", keep: 1 })).toEqual({ keep: 1 });
  });

  it("G53/G54: copies into fresh objects, skips prototype keys, bounds depth and string length", () => {
    const redact = createRedactor({ maxDepth: 4, maxStringLength: 10 });
    const polluted = JSON.parse(
      '{"__proto__":{"admin":true},"a":{"b":{"c":{"d":{"e":1}}}},"s":"0123456789abcdef"}',
    );
    const output = redact(polluted) as Record<string, unknown>;
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect((output as { admin?: boolean }).admin).toBeUndefined();
    expect(output.a).toEqual({ b: { c: { d: "[TRUNCATED]" } } });
    expect(output.s).toBe("0123456789…[TRUNCATED]");
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level++) deep = { deep };
    expect(() => redact(deep)).not.toThrow();
  });

  // A quadratic scan of this input takes minutes; a linear one milliseconds (bench/bounds.mjs
  // measures it). The bound here is a deadline no loaded machine misses and no quadratic scan meets.
  it("I68: input built to make a backtracking pattern quadratic is scanned in linear time", () => {
    const evil = `${"1 ".repeat(100_000)}x ${"eyJ".repeat(100_000)}.${"eyJa".repeat(50_000)} ${"9".repeat(100_000)}`;
    const started = performance.now();
    const output = createRedactor({ maxStringLength: 2_000_000 })({ memo: evil }) as {
      memo: string;
    };
    expect(performance.now() - started).toBeLessThan(PATIENCE_MS);
    expect(output.memo.length).toBeGreaterThan(100_000);
    expect(createRedactor()({ memo: `x${JWT}y` })).toEqual({ memo: "x[REDACTED]" });
  });
});
