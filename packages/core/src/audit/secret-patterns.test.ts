import { describe, expect, it } from "vitest";
import { createRedactor } from "./redaction.js";
import { scrubSecrets } from "./secret-patterns.js";

// Test values in the documented shapes of each provider; none is a live credential.
const AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const GITHUB = `ghp_${"a1B2c3D4e5".repeat(3)}abcdef`;
const SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
const STRIPE = `sk_live_${"4eC39HqLyjWDarjtT1zdp7dc"}`;
const GOOGLE = `AIza${"SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY".slice(0, 35)}`;
const BASIC = btoa("alice:hunter2");
const PEM = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIIEowIBAAKCAQEAx8d3f1nOTaRh2qzV0yVgQ3c8bW3YtqXf",
  "-----END RSA PRIVATE KEY-----",
].join("\n");

describe("free-text secrets (K86)", () => {
  it("K86: the five probes: SSN in prose, password= in a string, AWS key id, Basic under `auth`, credentials in a URL", () => {
    const redact = createRedactor();
    const output = redact({
      note: "customer ssn 123-45-6789 called",
      query: "login?user=alice&password=hunter2&next=/home",
      memo: `deploy with ${AWS_KEY_ID} today`,
      auth: `Basic ${BASIC}`,
      url: "postgres://admin:s3cretpw@db.acme.example:5432/crm",
    });
    expect(output).toEqual({
      note: "customer ssn [REDACTED] called",
      query: "login?user=alice&password=[REDACTED]&next=/home",
      memo: "deploy with [REDACTED] today",
      auth: "[REDACTED]",
      url: "postgres://[REDACTED]@db.acme.example:5432/crm",
    });
    const text = JSON.stringify(output);
    for (const secret of ["123-45-6789", "hunter2", AWS_KEY_ID, BASIC, "s3cretpw"])
      expect(text).not.toContain(secret);
  });

  it("K86: common credential formats in prose", () => {
    const cases: Array<[string, string]> = [
      [`token ${GITHUB} leaked`, GITHUB],
      [`slack ${SLACK}`, SLACK],
      [`charge with ${STRIPE}`, STRIPE],
      [`maps key ${GOOGLE}`, GOOGLE],
      [`header Authorization: Bearer abc123.def456-ghi`, "abc123.def456-ghi"],
      [`curl -H "Authorization: Basic ${BASIC}"`, BASIC],
      [`key:\n${PEM}\nend`, "MIIEowIBAAKCAQEAx8d3f1nOTaRh2qzV0yVgQ3c8bW3YtqXf"],
      ["Server=db;User Id=sa;Password=Pa55word!;", "Pa55word!"],
      ['{"api_key": "k-12345678"}', "k-12345678"],
      ["mongodb+srv://app:pw123456@cluster0.example.net/db", "pw123456"],
      [`openai sk-proj-${"x".repeat(40)}`, "x".repeat(40)],
      [`npm token npm_${"A".repeat(36)}`, "A".repeat(36)],
      [
        `aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      ],
    ];
    for (const [text, secret] of cases) {
      const scrubbed = scrubSecrets(text);
      expect(scrubbed, text).not.toContain(secret);
      expect(scrubbed, text).toContain("[REDACTED]");
    }
  });

  it("leaves ordinary text alone", () => {
    for (const text of [
      "acme",
      "Basic information about the customer",
      "Bearer of bad news",
      "order 1234567890123 shipped on 2026-01-05",
      "call 555-12-0000 or 000-12-3456",
      "https://tools.acme.example/crm?customer=acme",
      "tokens: 1500, max_tokens=200",
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    ])
      expect(scrubSecrets(text)).toBe(text);
  });

  it("freeText: false keeps only the JWT and card-number passes", () => {
    expect(createRedactor({ freeText: false })({ note: "ssn 123-45-6789" })).toEqual({
      note: "ssn 123-45-6789",
    });
  });

  // Bounded by the test's own timeout, not by a clock here: a quadratic scan would take minutes.
  it("I68: inputs built against each pattern stay linear", () => {
    const evil = [
      "-----BEGIN PRIVATE KEY-----".repeat(20_000),
      "a://b:".repeat(50_000),
      "password=".repeat(50_000),
      "Bearer ".repeat(50_000),
      "123-45-".repeat(50_000),
      "ghp_".repeat(50_000),
    ].join(" ");
    expect(scrubSecrets(evil)).toContain("[REDACTED]");
  });
});
