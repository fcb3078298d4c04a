import fc from "fast-check";

/**
 * Random Cedar for differential testing: policy sets (ill-typed ones included: nothing here is
 * validated), entity stores with a hierarchy, and requests, over a small universe of names so
 * that equalities, memberships and attribute hits are common.
 */

const TYPES = ["User", "Group", "Doc"] as const;
const IDS = ["a", "b", "c"] as const;
const ATTRS = ["x", "y", "z"] as const;
const STRINGS = ["", "a", "b", "ab", "a*b", "ba", "é", "a\\nb"] as const;

/** An entity uid in Cedar's JSON form. */
export interface Uid {
  type: string;
  id: string;
}

/** JSON values as Cedar's `isAuthorized` takes them. */
export type JsonValue = boolean | number | string | JsonValue[] | { [name: string]: JsonValue };

/** One generated case: a policy set and requests over one entity store. */
export interface DifferentialCase {
  policies: string[];
  entities: Array<{
    uid: Uid;
    attrs: Record<string, JsonValue>;
    parents: Uid[];
    tags?: Record<string, JsonValue>;
  }>;
  requests: Array<{
    principal: Uid;
    action: Uid;
    resource: Uid;
    context: Record<string, JsonValue>;
  }>;
}

const uid = fc.record({ type: fc.constantFrom(...TYPES), id: fc.constantFrom(...IDS) });
const actionUid = fc.record({
  type: fc.constant("Action"),
  id: fc.constantFrom("view", "edit", "all"),
});
const uidText = (value: Uid) => `${value.type}::"${value.id}"`;

const long = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(
    2 ** 31,
    3037000499,
    3037000500,
    4294967296,
    2 ** 53 - 1,
    -(2 ** 53 - 1),
    2 ** 52,
    -(2 ** 52) - 3,
    1024,
  ),
);

/** Extension constructor arguments: valid ones, edge ones and ones Cedar refuses. */
const EXTENSION_ARGS = {
  ip: [
    "10.0.0.1",
    "10.0.0.0/8",
    "10.1.2.3/16",
    "127.0.0.1",
    "127.0.0.1/7",
    "224.0.0.1/4",
    "0.0.0.0/0",
    "::1",
    "::1/127",
    "::/0",
    "ff00::/8",
    "2001:db8::/32",
    "2001:DB8::1",
    "1:2:3:4:5:6:7:8",
    "1::",
    "1.2.3.4/33",
    "01.2.3.4",
    "::ffff:1.2.3.4",
    "1.2.3.4/08",
    "1:2:3:4:5:6:7:8::",
  ],
  decimal: [
    "0.0",
    "1.5",
    "-1.5",
    "1.50",
    "-0.0001",
    "922337203685477.5807",
    "-922337203685477.5808",
    "922337203685477.5808",
    "1.23456",
    "1",
  ],
  datetime: [
    "1970-01-01",
    "2024-02-29",
    "2024-01-01T00:00:00Z",
    "2024-01-01T23:59:59.999Z",
    "2024-01-01T10:00:00+0130",
    "2024-01-01T10:00:00.500-2359",
    "1969-12-31T23:59:59Z",
    "0000-01-01",
    "9999-12-31T23:59:59.999Z",
    "2023-02-29",
    "2024-01-01T24:00:00Z",
    "2024-1-01",
  ],
  duration: [
    "1ms",
    "1d2h3m4s5ms",
    "-1s",
    "0ms",
    "1h30m",
    "-25h",
    "106751991167d",
    "106751991168d",
    "9223372036854775807ms",
    "-9223372036854775808ms",
    "9223372036854775808ms",
    "",
    "-",
    "1m1h",
  ],
} as const;

/** Arguments Cedar takes (a JSON value holding a refused one would fail the whole request). */
const VALID_EXTENSION_ARGS = {
  ip: EXTENSION_ARGS.ip.slice(0, 15),
  decimal: EXTENSION_ARGS.decimal.slice(0, 7),
  datetime: EXTENSION_ARGS.datetime.slice(0, 9),
  duration: EXTENSION_ARGS.duration.slice(0, 7),
};

/** An extension value in Cedar's JSON form (`{"__extn": …}`). */
const extensionJson = fc
  .constantFrom("ip", "decimal", "datetime", "duration")
  .chain((fn) =>
    fc
      .constantFrom(...VALID_EXTENSION_ARGS[fn as keyof typeof VALID_EXTENSION_ARGS])
      .map((arg) => ({ __extn: { fn, arg } }) as unknown as JsonValue),
  );

/** A JSON value for entity attributes, tags and context. */
const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.boolean(),
    long,
    fc.constantFrom(...STRINGS),
    uid.map((value) => ({ __entity: value }) as unknown as JsonValue),
    extensionJson,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...ATTRS), tie("value"), { maxKeys: 3 }),
  ),
})).value;

const record = fc.dictionary(fc.constantFrom(...ATTRS), jsonValue, { maxKeys: 3 });

/** A Cedar expression, as text. */
const expression: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => {
  const e = tie("e");
  const leaf = fc.oneof(
    fc.constantFrom("true", "false", "principal", "action", "resource", "context"),
    long.map((value) => (value < 0 ? `(${value})` : String(value))),
    fc.constantFrom(...STRINGS).map((value) => JSON.stringify(value)),
    uid.map(uidText),
    actionUid.map(uidText),
  );
  const attr = fc.constantFrom(...ATTRS);
  // Extension values, mostly well-typed where a method expects one, sometimes not.
  const constructorCall = fc
    .constantFrom("ip", "decimal", "datetime", "duration")
    .chain((fn) =>
      fc
        .constantFrom(...EXTENSION_ARGS[fn as keyof typeof EXTENSION_ARGS])
        .map((arg) => `${fn}(${JSON.stringify(arg)})`),
    );
  const extension = fc.oneof(
    { arbitrary: constructorCall, weight: 4 },
    fc.tuple(fc.constantFrom("context", "principal"), attr).map(([v, name]) => `${v}.${name}`),
    e,
  );
  const extensionCall = fc.oneof(
    fc
      .tuple(
        extension,
        fc.constantFrom(
          "isIpv4",
          "isIpv6",
          "isLoopback",
          "isMulticast",
          "toDate",
          "toTime",
          "toMilliseconds",
          "toSeconds",
          "toMinutes",
          "toHours",
          "toDays",
        ),
      )
      .map(([receiver, method]) => `(${receiver}).${method}()`),
    fc
      .tuple(
        extension,
        fc.constantFrom(
          "isInRange",
          "lessThan",
          "lessThanOrEqual",
          "greaterThan",
          "greaterThanOrEqual",
          "offset",
          "durationSince",
        ),
        extension,
      )
      .map(([receiver, method, arg]) => `(${receiver}).${method}(${arg})`),
    fc
      .tuple(extension, fc.constantFrom("<", "<=", ">", ">=", "==", "!="), extension)
      .map(([left, op, right]) => `(${left}) ${op} (${right})`),
  );
  const pattern = fc
    .array(fc.constantFrom("a", "b", "*", "\\*", "é"), { maxLength: 4 })
    .map((parts) => `"${parts.join("")}"`);
  return {
    e: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      extensionCall,
      fc.tuple(e, attr).map(([left, name]) => `(${left}).${name}`),
      fc.tuple(e, attr).map(([left, name]) => `(${left})["${name}"]`),
      fc.tuple(e, attr).map(([left, name]) => `(${left}) has ${name}`),
      fc.tuple(e, attr, attr).map(([left, a, b]) => `(${left}) has ${a}.${b}`),
      fc
        .tuple(
          e,
          fc.constantFrom("==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "&&", "||", "in"),
          e,
        )
        .map(([left, op, right]) => `(${left}) ${op} (${right})`),
      e.map((arg) => `!(${arg})`),
      e.map((arg) => `-(${arg})`),
      fc.tuple(e, pattern).map(([left, p]) => `(${left}) like ${p}`),
      fc.tuple(e, fc.constantFrom(...TYPES)).map(([left, type]) => `(${left}) is ${type}`),
      fc
        .tuple(e, fc.constantFrom(...TYPES), e)
        .map(([left, type, right]) => `(${left}) is ${type} in (${right})`),
      fc
        .tuple(e, fc.constantFrom("contains", "containsAll", "containsAny", "hasTag", "getTag"), e)
        .map(([left, method, arg]) => `(${left}).${method}(${arg})`),
      e.map((arg) => `(${arg}).isEmpty()`),
      fc
        .tuple(e, e, e)
        .map(([test, then, otherwise]) => `if ${test} then ${then} else ${otherwise}`),
      fc.array(e, { maxLength: 3 }).map((items) => `[${items.join(", ")}]`),
      fc
        .uniqueArray(fc.tuple(attr, e), { maxLength: 3, selector: ([name]) => name })
        .map((members) => `{${members.map(([name, value]) => `${name}: ${value}`).join(", ")}}`),
    ),
  };
}).e;

/** A condition: mostly operators that answer a boolean, so that policies are often satisfied. */
const condition = fc.oneof(
  expression,
  fc
    .tuple(expression, fc.constantFrom("==", "!=", "<", "in", "&&", "||"), expression)
    .map(([left, op, right]) => `(${left}) ${op} (${right})`),
  fc
    .tuple(fc.constantFrom("principal", "resource", "context"), fc.constantFrom(...ATTRS))
    .map(([variable, name]) => `${variable} has ${name}`),
  fc.constantFrom("true", "principal in resource", "resource is Doc", "context.x == context.y"),
  // Long arithmetic at the edges of 64 bits, where overflow errors and 2^53 loses precision.
  fc
    .tuple(
      fc.oneof(long, fc.constantFrom("context.x", "principal.y")),
      fc.constantFrom("+", "-", "*"),
      long,
      fc.constantFrom("+", "-", "*"),
      long,
      fc.constantFrom("==", "<", ">="),
      fc.oneof(long, fc.constantFrom("9007199254740993", "-9223372036854775807")),
    )
    .map(
      ([a, op1, b, op2, c, cmp, d]) =>
        `(${a}) ${op1} (${b}) ${op2} (${c}) ${cmp} ${String(d).startsWith("-") ? `(${d})` : d}`,
    ),
);

const entityScope = (variable: string) =>
  fc.oneof(
    { arbitrary: fc.constant(variable), weight: 6 },
    uid.map((value) => `${variable} == ${uidText(value)}`),
    uid.map((value) => `${variable} in ${uidText(value)}`),
    fc.constantFrom(...TYPES).map((type) => `${variable} is ${type}`),
    fc
      .tuple(fc.constantFrom(...TYPES), uid)
      .map(([type, value]) => `${variable} is ${type} in ${uidText(value)}`),
  );
const actionScope = fc.oneof(
  { arbitrary: fc.constant("action"), weight: 4 },
  actionUid.map((value) => `action == ${uidText(value)}`),
  actionUid.map((value) => `action in ${uidText(value)}`),
  fc
    .array(actionUid, { minLength: 1, maxLength: 2 })
    .map((values) => `action in [${values.map(uidText).join(", ")}]`),
);

/** A random policy, as text. */
export const policy = fc
  .tuple(
    fc.constantFrom("permit", "permit", "permit", "forbid"),
    entityScope("principal"),
    actionScope,
    entityScope("resource"),
    fc.array(fc.tuple(fc.constantFrom("when", "when", "unless"), condition), { maxLength: 2 }),
  )
  .map(
    ([effect, principal, action, resource, conditions]) =>
      `${effect} (${principal}, ${action}, ${resource})${conditions.map(([kind, body]) => ` ${kind} { ${body} }`).join("")};`,
  );

const entity = fc.record(
  {
    uid,
    attrs: record,
    parents: fc.array(uid, { maxLength: 2 }),
    tags: record,
  },
  { requiredKeys: ["uid", "attrs", "parents"] },
);

/** A policy set, an entity store (hierarchy acyclic: parents come later in a fixed order) and requests. */
export function differentialCase(requestsPerCase: number): fc.Arbitrary<DifferentialCase> {
  const order = (value: Uid) =>
    TYPES.indexOf(value.type as (typeof TYPES)[number]) * 3 +
    IDS.indexOf(value.id as (typeof IDS)[number]);
  return fc.record({
    policies: fc.array(policy, { minLength: 1, maxLength: 4 }),
    entities: fc
      .uniqueArray(entity, { maxLength: 6, selector: (value) => uidText(value.uid) })
      .map((entities) => [
        ...entities.map((value) => ({
          ...value,
          parents: value.parents.filter((parent) => order(parent) > order(value.uid)),
        })),
        {
          uid: { type: "Action", id: "view" },
          attrs: {},
          parents: [{ type: "Action", id: "all" }],
        },
        {
          uid: { type: "Action", id: "edit" },
          attrs: {},
          parents: [{ type: "Action", id: "all" }],
        },
      ]),
    requests: fc.array(
      fc.record({ principal: uid, action: actionUid, resource: uid, context: record }),
      { minLength: requestsPerCase, maxLength: requestsPerCase },
    ),
  });
}
