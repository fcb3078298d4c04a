import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicySet } from "./compiled-policy-set.js";
import { EXTENSION_FUNCTIONS } from "./extensions.js";
import { EntityUid } from "./values.js";

/**
 * The extension parsers and functions against Cedar's own, string by string: random strings
 * shaped like IP addresses, decimals, datetimes and durations (valid, at the edges of 64 bits,
 * and malformed), each probed by policies that compare it with fixed values and with a second
 * random string. Compiled and cedar-wasm must agree on which policies hold and which error.
 */
const RUNS = Number(process.env.CEDAR_EXTENSION_RUNS ?? 150);

const digits = (max: number) => fc.integer({ min: 0, max }).map(String);
const pick = <T>(...values: T[]) => fc.constantFrom(...values);

const octet = fc.oneof(
  { arbitrary: digits(255), weight: 8 },
  digits(300),
  pick("0", "00", "01", "127", "224", ""),
);
const ipv4 = fc
  .oneof(
    { arbitrary: fc.array(octet, { minLength: 4, maxLength: 4 }), weight: 4 },
    fc.array(octet, { minLength: 3, maxLength: 5 }),
  )
  .map((octets) => octets.join("."));
const group = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 0xffff }).map((value) => value.toString(16)), weight: 8 },
  pick("0", "0000", "ff", "FF00", "12345", "g", "1"),
);
const ipv6 = fc
  .tuple(fc.array(group, { maxLength: 4 }), fc.array(group, { maxLength: 4 }), fc.boolean())
  .chain(([head, tail, compressed]) =>
    compressed
      ? fc.constant(`${head.join(":")}::${tail.join(":")}`)
      : fc.array(group, { minLength: 7, maxLength: 9 }).map((groups) => groups.join(":")),
  );
const structuredIp = fc
  .tuple(
    fc.oneof(ipv4, ipv6, pick("::1", "127.0.0.1", "::ffff:1.2.3.4", "1.2.3.4:5", "::")),
    fc.option(fc.oneof(digits(130), pick("0", "00", "08", "", "1.2", "-1", "8/8")), {
      nil: undefined,
    }),
  )
  .map(([address, prefix]) => (prefix === undefined ? address : `${address}/${prefix}`));

const ip = fc.oneof(
  { arbitrary: structuredIp, weight: 6 },
  // Loopback and multicast at the prefix lengths where they stop being so.
  pick("127.0.0.1/7", "127.1.2.3/8", "::1/127", "::1/128", "224.1.1.1/3", "239.0.0.1/4"),
  pick("ff01::/7", "ff01::/8", "::ffff:7f00:1", "0.0.0.0/32", "255.255.255.255/31"),
);

const decimal = fc
  .tuple(
    fc.oneof(
      digits(1000),
      pick("922337203685477", "922337203685478", "-922337203685477", "-0", "00", ""),
    ),
    fc.oneof(
      { arbitrary: digits(9999), weight: 4 },
      digits(99999),
      pick("0", "5807", "5808", "0001", "", "12345"),
    ),
    fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, fc.constant(false)),
  )
  .map(([whole, fraction, dot]) => (dot ? `${whole}.${fraction}` : whole));

const two = (min: number, max: number) =>
  fc.integer({ min, max }).map((value) => String(value).padStart(2, "0"));
const datetime = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: 0, max: 9999 }).map((y) => String(y).padStart(4, "0")),
      pick("1969", "2024", "2023", "0000", "9999", "99"),
    ),
    two(0, 13),
    two(0, 32),
    fc.option(fc.tuple(two(0, 25), two(0, 61), two(0, 61)), { nil: undefined }),
    fc.option(
      fc.integer({ min: 0, max: 999 }).map((ms) => String(ms).padStart(3, "0")),
      {
        nil: undefined,
      },
    ),
    fc.oneof(
      pick("Z", "", "z", "+0000", "-2359", "+2400", "+0160"),
      fc.tuple(pick("+", "-"), two(0, 25), two(0, 61)).map((parts) => parts.join("")),
    ),
  )
  .map(([year, month, day, time, ms, offset]) =>
    time === undefined
      ? `${year}-${month}-${day}`
      : `${year}-${month}-${day}T${time.join(":")}${ms === undefined ? "" : `.${ms}`}${offset}`,
  );

const quantity = fc.oneof(
  digits(100_000),
  pick(
    "106751991167",
    "106751991168",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "0",
  ),
);
const UNITS = ["d", "h", "m", "s", "ms"] as const;
const duration = fc
  .tuple(
    fc.boolean(),
    fc.oneof(
      // Units in Cedar's order, each present or not.
      {
        arbitrary: fc.tuple(
          ...UNITS.map((unit) =>
            fc.option(
              quantity.map((n) => n + unit),
              { nil: "" },
            ),
          ),
        ),
        weight: 4,
      },
      fc.array(
        fc.tuple(quantity, pick(...UNITS, "x")).map(([n, unit]) => n + unit),
        { maxLength: 4 },
      ),
    ),
  )
  .map(([negative, parts]) => `${negative ? "-" : ""}${parts.join("")}`);

const REFERENCES = {
  ip: ["10.0.0.0/8", "127.0.0.1", "::1", "::/0", "0.0.0.0/0", "192.168.1.0/24", "ff00::/8"],
  decimal: ["0.0", "1.5", "-1.5", "922337203685477.5807", "-922337203685477.5808"],
  datetime: ["1970-01-01", "2024-02-29T12:00:00Z", "0000-01-01", "9999-12-31T23:59:59.999Z"],
  duration: ["0ms", "1d", "-1ms", "9223372036854775807ms", "-9223372036854775808ms"],
};

/** Policies probing one random string `s` (and a second one, `t`) of one extension type. */
function probes(fn: keyof typeof REFERENCES, s: string, t: string): string[] {
  const a = `${fn}(${JSON.stringify(s)})`;
  const b = `${fn}(${JSON.stringify(t)})`;
  const refs = REFERENCES[fn].map((ref) => `${fn}(${JSON.stringify(ref)})`);
  const out = [`${a} == ${a}`, `${a} == ${b}`, ...refs.map((ref) => `${a} == ${ref}`)];
  switch (fn) {
    case "ip":
      out.push(`${a}.isIpv4()`, `${a}.isIpv6()`, `${a}.isLoopback()`, `${a}.isMulticast()`);
      out.push(`${a}.isInRange(${b})`, `${b}.isInRange(${a})`);
      for (const ref of refs) out.push(`${a}.isInRange(${ref})`, `${ref}.isInRange(${a})`);
      break;
    case "decimal":
      for (const other of [b, ...refs])
        out.push(
          `${a}.lessThan(${other})`,
          `${a}.lessThanOrEqual(${other})`,
          `${a}.greaterThan(${other})`,
          `${a}.greaterThanOrEqual(${other})`,
        );
      break;
    case "datetime":
      for (const other of [b, ...refs]) out.push(`${a} < ${other}`, `${a} <= ${other}`);
      out.push(`${a}.toDate() == ${b}.toDate()`, `${a}.toTime() < duration("12h")`);
      out.push(`${a}.durationSince(${b}) < duration("1d")`);
      out.push(`${a}.toTime().toMilliseconds() == ${b}.toTime().toMilliseconds()`);
      for (const ref of REFERENCES.duration)
        out.push(`${a}.offset(duration(${JSON.stringify(ref)})) < ${b}`);
      break;
    case "duration":
      for (const other of [b, ...refs]) out.push(`${a} < ${other}`, `${a} >= ${other}`);
      for (const unit of ["Milliseconds", "Seconds", "Minutes", "Hours", "Days"])
        out.push(`${a}.to${unit}() == ${b}.to${unit}()`, `${a}.to${unit}() < 7`);
      out.push(`datetime("1970-01-01").offset(${a}) < datetime("2024-01-01")`);
      break;
  }
  return out.map((condition) => `permit (principal, action, resource) when { ${condition} };`);
}

function agree(fn: keyof typeof REFERENCES, s: string, t: string): string | undefined {
  const policies = probes(fn, s, t);
  const staticPolicies = Object.fromEntries(policies.map((text, index) => [`p${index}`, text]));
  const request = {
    principal: { type: "User", id: "a" },
    action: { type: "Action", id: "view" },
    resource: { type: "User", id: "a" },
    context: {},
  };
  const reference = cedar.isAuthorized({ ...request, policies: { staticPolicies }, entities: [] });
  if (reference.type !== "success") return `cedar-wasm failed: ${JSON.stringify(reference.errors)}`;
  const compiled = compilePolicySet(
    policies.map((text, index) => {
      const json = cedar.policyToJson(text);
      if (json.type !== "success") throw new Error(`does not parse: ${text}`);
      return { id: `p${index}`, json: json.json, text };
    }),
  );
  const answer = compiled.authorize({
    principal: new EntityUid("User", "a"),
    action: new EntityUid("Action", "view"),
    resource: new EntityUid("User", "a"),
    context: {},
    entities: new Map(),
  });
  const expected = {
    reasons: [...reference.response.diagnostics.reason].sort(),
    errors: reference.response.diagnostics.errors.map((error) => error.policyId).sort(),
  };
  const got = {
    reasons: [...answer.reasons].sort(),
    errors: answer.errors.map((error) => error.policyId).sort(),
  };
  if (JSON.stringify(expected) === JSON.stringify(got)) return undefined;
  const name = (id: string) => policies[Number(id.slice(1))];
  const onlyOne = (x: string[], y: string[]) => x.filter((id) => !y.includes(id)).map(name);
  return `${fn}(${JSON.stringify(s)}), ${fn}(${JSON.stringify(t)}):\n  holds only in cedar-wasm: ${onlyOne(expected.reasons, got.reasons).join("\n    ")}\n  holds only compiled: ${onlyOne(got.reasons, expected.reasons).join("\n    ")}\n  errors only in cedar-wasm: ${onlyOne(expected.errors, got.errors).join("\n    ")}\n  errors only compiled: ${onlyOne(got.errors, expected.errors).join("\n    ")}`;
}

describe("the extension types are Cedar's", () => {
  for (const [fn, arbitrary] of [
    ["ip", ip],
    ["decimal", decimal],
    ["datetime", datetime],
    ["duration", duration],
  ] as const) {
    it(`${fn}: parsing, equality, order and methods agree with cedar-wasm on ${RUNS} random pairs of strings`, () => {
      let failure: string | undefined;
      let valid = 0;
      let invalid = 0;
      const result = fc.check(
        fc.property(arbitrary, arbitrary, (s, t) => {
          failure = agree(fn, s, t);
          try {
            (EXTENSION_FUNCTIONS.get(fn) as (args: string[]) => unknown)([s]);
            valid++;
          } catch {
            invalid++;
          }
          return failure === undefined;
        }),
        { numRuns: RUNS, seed: Number(process.env.CEDAR_DIFFERENTIAL_SEED ?? 20261201) },
      );
      if (result.failed) {
        const [s, t] = result.counterexample as [string, string];
        throw new Error(
          `compiled and cedar-wasm disagree (seed ${result.seed}); smallest case: ${agree(fn, s, t)}`,
        );
      }
      // Both valid and refused strings are exercised.
      expect(valid).toBeGreaterThan(RUNS * 0.2);
      expect(invalid).toBeGreaterThan(RUNS * 0.05);
    }, 600_000);
  }
});
