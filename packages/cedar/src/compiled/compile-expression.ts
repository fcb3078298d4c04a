import { EXTENSION_FUNCTIONS } from "./extensions.js";
import {
  CedarEvaluationError,
  type CedarRecord,
  type CedarValue,
  type EntityStore,
  EntityUid,
  ExtensionValue,
  fromJson,
  includes,
  isLong,
  isRecord,
  longOf,
  subset,
  valueEquals,
} from "./values.js";

/** What a compiled expression reads: the request's four variables and the entities. */
export interface Environment {
  readonly principal: EntityUid;
  readonly action: EntityUid;
  readonly resource: EntityUid;
  readonly context: CedarRecord;
  readonly entities: EntityStore;
}

/** A compiled Cedar expression. Throws {@link CedarEvaluationError} where Cedar's evaluation errors. */
export type Compiled = (env: Environment) => CedarValue;

/** A construct the compiler does not handle (an extension function, a slot): the set goes to cedar-wasm. */
export class NotCompiled extends Error {
  constructor(
    message: string,
    /** The policy that holds the construct, once known. */
    readonly policyId?: string,
  ) {
    super(message);
  }
}

type Node = Record<string, unknown>;
type Binary = { left: unknown; right: unknown };

/**
 * Compiles one expression of Cedar's JSON policy form (the EST of `policyToJson`) into a
 * closure with Cedar's exact evaluation semantics: operands are evaluated left to right, only
 * `&&`, `||` and `if` short-circuit, every operator type-checks its operands at run time (so an
 * ill-typed policy errors exactly where Cedar's does), Long arithmetic is checked 64-bit.
 * Throws {@link NotCompiled} on anything else, so nothing is ever guessed.
 */
export function compileExpression(expression: unknown): Compiled {
  if (typeof expression !== "object" || expression === null || Array.isArray(expression))
    throw new NotCompiled("not an expression");
  const node = expression as Node;
  const keys = Object.keys(node);
  if (keys.length !== 1) throw new NotCompiled("not an expression");
  const op = keys[0] as string;
  const body = node[op];
  switch (op) {
    case "Value":
      return constant(literal(body));
    case "Var":
      return variable(body);
    case "Set": {
      if (!Array.isArray(body)) throw new NotCompiled("Set");
      const items = body.map(compileExpression);
      return (env) => items.map((item) => item(env));
    }
    case "Record": {
      if (typeof body !== "object" || body === null) throw new NotCompiled("Record");
      const members = Object.entries(body as Node).map(
        ([name, value]) => [name, compileExpression(value)] as const,
      );
      return (env) => {
        const out: Record<string, CedarValue> = Object.create(null);
        for (const [name, member] of members) out[name] = member(env);
        return out;
      };
    }
    case "!": {
      const arg = compileExpression((body as { arg: unknown }).arg);
      return (env) => !bool(arg(env));
    }
    case "neg": {
      const arg = compileExpression((body as { arg: unknown }).arg);
      return (env) => {
        const value = long(arg(env));
        return typeof value === "number" && value !== 0 ? -value : longOf(-BigInt(value));
      };
    }
    case "&&":
    case "||": {
      const { left, right } = binary(body);
      const stop = op === "||";
      return (env) => {
        if (bool(left(env)) === stop) return stop;
        return bool(right(env));
      };
    }
    case "if-then-else": {
      const spec = body as { if: unknown; then: unknown; else: unknown };
      const test = compileExpression(spec.if);
      const then = compileExpression(spec.then);
      const otherwise = compileExpression(spec.else);
      return (env) => (bool(test(env)) ? then(env) : otherwise(env));
    }
    case "==":
    case "!=": {
      const { left, right } = binary(body);
      const negate = op === "!=";
      return (env) => {
        const a = left(env);
        return valueEquals(a, right(env)) !== negate;
      };
    }
    case "<":
    case "<=":
    case ">":
    case ">=":
      return comparison(op, binary(body));
    case "+":
    case "-":
    case "*":
      return arithmetic(op, binary(body));
    case "in": {
      const { left, right } = binary(body);
      return (env) => {
        const a = left(env);
        const b = right(env);
        return isIn(entity(a), b, env.entities);
      };
    }
    case "contains": {
      const { left, right } = binary(body);
      return (env) => {
        const a = left(env);
        const b = right(env);
        return includes(set(a), b);
      };
    }
    case "containsAll":
    case "containsAny": {
      const { left, right } = binary(body);
      const all = op === "containsAll";
      return (env) => {
        const a = set(left(env));
        const b = set(right(env));
        if (all) return subset(b, a);
        for (const item of b) if (includes(a, item)) return true;
        return false;
      };
    }
    case "isEmpty": {
      const arg = compileExpression((body as { arg: unknown }).arg);
      return (env) => set(arg(env)).length === 0;
    }
    case "hasTag":
    case "getTag": {
      const { left, right } = binary(body);
      const get = op === "getTag";
      return (env) => {
        const uid = entity(left(env));
        const tag = string(right(env));
        const found = env.entities.get(uid.key);
        if (found === undefined) {
          if (get) throw new CedarEvaluationError(`entity ${uid.key} does not exist`);
          return false;
        }
        const has = found.tags !== undefined && Object.hasOwn(found.tags, tag);
        if (!get) return has;
        if (!has) throw new CedarEvaluationError(`${uid.key} has no tag ${tag}`);
        return (found.tags as CedarRecord)[tag] as CedarValue;
      };
    }
    case ".": {
      const spec = body as { left: unknown; attr: unknown };
      if (typeof spec.attr !== "string") throw new NotCompiled(".");
      const left = compileExpression(spec.left);
      const attr = spec.attr;
      return (env) => getAttribute(left(env), attr, env.entities);
    }
    case "has": {
      const spec = body as { left: unknown; attr: unknown };
      const path = Array.isArray(spec.attr) ? spec.attr : [spec.attr];
      if (path.length === 0 || !path.every((name) => typeof name === "string"))
        throw new NotCompiled("has");
      const left = compileExpression(spec.left);
      const names = path as string[];
      // `e has a.b` is `e has a && e.a has b`.
      return (env) => {
        let value = left(env);
        for (let index = 0; index < names.length; index++) {
          const name = names[index] as string;
          if (!hasAttribute(value, name, env.entities)) return false;
          if (index < names.length - 1) value = getAttribute(value, name, env.entities);
        }
        return true;
      };
    }
    case "like": {
      const spec = body as { left: unknown; pattern: unknown };
      const left = compileExpression(spec.left);
      const pattern = likePattern(spec.pattern);
      return (env) => pattern.test(string(left(env)));
    }
    case "is": {
      const spec = body as { left: unknown; entity_type: unknown; in?: unknown };
      if (typeof spec.entity_type !== "string") throw new NotCompiled("is");
      const left = compileExpression(spec.left);
      const type = spec.entity_type;
      // `e is T in x` is `e is T && e in x`.
      const within = spec.in === undefined ? undefined : compileExpression(spec.in);
      return (env) => {
        const uid = entity(left(env));
        if (uid.type !== type) return false;
        if (within === undefined) return true;
        const again = entity(left(env));
        return isIn(again, within(env), env.entities);
      };
    }
    default: {
      const fn = EXTENSION_FUNCTIONS.get(op);
      if (fn === undefined || !Array.isArray(body))
        throw new NotCompiled(`the construct "${op}" (an unknown operator)`);
      return extensionCall(fn, body);
    }
  }
}

/**
 * An extension function call: every argument evaluated, left to right, then the function (which
 * checks its arity and argument types). A call on literals (`ip("10.0.0.0/8")`) is computed once
 * here when it succeeds; one that fails is left to fail at each evaluation, as in Cedar.
 */
function extensionCall(
  fn: (args: readonly CedarValue[]) => CedarValue,
  body: readonly unknown[],
): Compiled {
  const args = body.map(compileExpression);
  if (body.every((arg) => isLiteral(arg))) {
    try {
      return constant(fn(args.map((arg) => arg(NO_ENVIRONMENT))));
    } catch (error) {
      if (!(error instanceof CedarEvaluationError)) throw error;
    }
  }
  if (args.length === 1) {
    const only = args[0] as Compiled;
    return (env) => fn([only(env)]);
  }
  if (args.length === 2) {
    const [first, second] = args as [Compiled, Compiled];
    return (env) => {
      const a = first(env);
      return fn([a, second(env)]);
    };
  }
  return (env) => fn(args.map((arg) => arg(env)));
}

function isLiteral(json: unknown): boolean {
  if (typeof json !== "object" || json === null) return false;
  const keys = Object.keys(json);
  if (keys.length !== 1) return false;
  const [op] = keys as [string];
  const body = (json as Node)[op];
  if (op === "Value") return true;
  return EXTENSION_FUNCTIONS.has(op) && Array.isArray(body) && body.every(isLiteral);
}

/** Never read: literals read no variable. */
const NO_ENVIRONMENT = undefined as unknown as Environment;

/** `uid in target`, target an entity or a set of entities (all checked before any is tested). */
export function isIn(uid: EntityUid, target: CedarValue, entities: EntityStore): boolean {
  const ancestors = entities.get(uid.key)?.ancestors;
  if (target instanceof EntityUid)
    return uid.key === target.key || ancestors?.has(target.key) === true;
  if (!Array.isArray(target)) throw typeError("an entity or a set", target);
  const keys = (target as CedarValue[]).map((item) => entity(item).key);
  for (const key of keys) if (uid.key === key || ancestors?.has(key) === true) return true;
  return false;
}

function getAttribute(value: CedarValue, attr: string, entities: EntityStore): CedarValue {
  if (value instanceof EntityUid) {
    const found = entities.get(value.key);
    if (found === undefined) throw new CedarEvaluationError(`entity ${value.key} does not exist`);
    if (!Object.hasOwn(found.attrs, attr))
      throw new CedarEvaluationError(`${value.key} has no attribute ${attr}`);
    return found.attrs[attr] as CedarValue;
  }
  if (isRecord(value)) {
    if (!Object.hasOwn(value, attr))
      throw new CedarEvaluationError(`record has no attribute ${attr}`);
    return value[attr] as CedarValue;
  }
  throw typeError("an entity or a record", value);
}

function hasAttribute(value: CedarValue, attr: string, entities: EntityStore): boolean {
  if (value instanceof EntityUid) {
    const found = entities.get(value.key);
    return found !== undefined && Object.hasOwn(found.attrs, attr);
  }
  if (isRecord(value)) return Object.hasOwn(value, attr);
  throw typeError("an entity or a record", value);
}

function comparison(
  op: "<" | "<=" | ">" | ">=",
  spec: { left: Compiled; right: Compiled },
): Compiled {
  const { left, right } = spec;
  switch (op) {
    case "<":
      return (env) => {
        const a = left(env);
        return compare(a, right(env)) < 0;
      };
    case "<=":
      return (env) => {
        const a = left(env);
        return compare(a, right(env)) <= 0;
      };
    case ">":
      return (env) => {
        const a = left(env);
        return compare(a, right(env)) > 0;
      };
    case ">=":
      return (env) => {
        const a = left(env);
        return compare(a, right(env)) >= 0;
      };
  }
}

/**
 * The order of two operands of `<`, `<=`, `>`, `>=`: two Longs, or two datetimes, or two
 * durations (the extension types with operators); anything else is a type error.
 */
function compare(a: CedarValue, b: CedarValue): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (isLong(a) && isLong(b)) return a < b ? -1 : a > b ? 1 : 0;
  if (
    a instanceof ExtensionValue &&
    b instanceof ExtensionValue &&
    a.type === b.type &&
    (a.type === "datetime" || a.type === "duration")
  )
    return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
  throw typeError("two Longs, datetimes or durations", a);
}

function arithmetic(op: "+" | "-" | "*", spec: { left: Compiled; right: Compiled }): Compiled {
  const { left, right } = spec;
  // Two safe integers give an exact float result whenever that result is itself a safe
  // integer (an exact value beyond 2^53 rounds to at least 2^53); otherwise BigInt decides.
  switch (op) {
    case "+":
      return (env) => {
        const a = long(left(env));
        const b = long(right(env));
        if (typeof a === "number" && typeof b === "number") {
          const sum = a + b;
          if (Number.isSafeInteger(sum)) return sum;
        }
        return longOf(BigInt(a) + BigInt(b));
      };
    case "-":
      return (env) => {
        const a = long(left(env));
        const b = long(right(env));
        if (typeof a === "number" && typeof b === "number") {
          const difference = a - b;
          if (Number.isSafeInteger(difference)) return difference;
        }
        return longOf(BigInt(a) - BigInt(b));
      };
    case "*":
      return (env) => {
        const a = long(left(env));
        const b = long(right(env));
        if (typeof a === "number" && typeof b === "number") {
          const product = a * b;
          if (Number.isSafeInteger(product)) return product === 0 ? 0 : product;
        }
        return longOf(BigInt(a) * BigInt(b));
      };
  }
}

function binary(body: unknown): { left: Compiled; right: Compiled } {
  const spec = body as Binary;
  if (typeof spec !== "object" || spec === null) throw new NotCompiled("operands");
  return { left: compileExpression(spec.left), right: compileExpression(spec.right) };
}

/**
 * Exact values of the integer literals beyond 2^53 of the policy being compiled, by the float
 * that Cedar's JSON form rounds them to (see {@link exactLongLiterals}); set only while
 * {@link withExactLongs} runs, which is synchronous.
 */
let exactLongs: ReadonlyMap<number, bigint | null> | undefined;

/** Runs `compile` with the exact big literals of one policy's text in reach. */
export function withExactLongs<T>(text: string | undefined, compile: () => T): T {
  exactLongs = text === undefined || !/[0-9]{16}/.test(text) ? undefined : exactLongLiterals(text);
  try {
    return compile();
  } finally {
    exactLongs = undefined;
  }
}

/**
 * The integer literals of a policy's text that a JS number cannot hold, by the float Cedar's JSON
 * form gives for them (and for their negation); `null` where two different literals round to the
 * same float, so that the compiler declines rather than guess.
 */
export function exactLongLiterals(text: string): Map<number, bigint | null> {
  const out = new Map<number, bigint | null>();
  const note = (value: bigint) => {
    const float = Number(value);
    const known = out.get(float);
    out.set(float, known === undefined || known === value ? value : null);
  };
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (char === '"') {
      for (index++; index < text.length && text[index] !== '"'; index++)
        if (text[index] === "\\") index++;
    } else if (char === "/" && text[index + 1] === "/") {
      while (index < text.length && text[index] !== "\n") index++;
    } else if (/[A-Za-z_]/.test(char)) {
      while (index + 1 < text.length && /[A-Za-z0-9_]/.test(text[index + 1] as string)) index++;
    } else if (/[0-9]/.test(char)) {
      let end = index;
      while (end + 1 < text.length && /[0-9]/.test(text[end + 1] as string)) end++;
      const value = BigInt(text.slice(index, end + 1));
      if (!Number.isSafeInteger(Number(value))) {
        note(value);
        note(-value);
      }
      index = end;
    }
  }
  return out;
}

function exactNumbers(json: unknown): unknown {
  if (typeof json === "number" && Number.isInteger(json) && !Number.isSafeInteger(json)) {
    const exact = exactLongs?.get(json);
    if (exact === undefined || exact === null)
      throw new NotCompiled("a literal outside the exact range");
    return exact;
  }
  if (Array.isArray(json)) return json.map(exactNumbers);
  if (typeof json === "object" && json !== null) {
    const out: Record<string, unknown> = Object.create(null);
    for (const [key, value] of Object.entries(json)) out[key] = exactNumbers(value);
    return out;
  }
  return json;
}

function literal(json: unknown): CedarValue {
  let value: CedarValue;
  try {
    value = fromJson(exactNumbers(json));
  } catch (error) {
    if (error instanceof NotCompiled) throw error;
    throw new NotCompiled("a literal outside the exact range");
  }
  if (containsExtension(value)) throw new NotCompiled("an extension literal");
  return value;
}

function containsExtension(value: CedarValue): boolean {
  if (value instanceof ExtensionValue) return true;
  if (Array.isArray(value)) return value.some(containsExtension);
  if (isRecord(value)) return Object.values(value).some(containsExtension);
  return false;
}

function constant(value: CedarValue): Compiled {
  return () => value;
}

function variable(name: unknown): Compiled {
  switch (name) {
    case "principal":
      return (env) => env.principal;
    case "action":
      return (env) => env.action;
    case "resource":
      return (env) => env.resource;
    case "context":
      return (env) => env.context;
    default:
      throw new NotCompiled(`variable ${String(name)}`);
  }
}

/** A `like` pattern: code points, `null` for a wildcard. */
function likePattern(pattern: unknown): { test(text: string): boolean } {
  if (!Array.isArray(pattern)) throw new NotCompiled("like");
  const elements: Array<string | null> = [];
  for (const element of pattern) {
    if (element === "Wildcard") elements.push(null);
    else if (
      typeof element === "object" &&
      element !== null &&
      typeof (element as { Literal?: unknown }).Literal === "string"
    )
      elements.push(...Array.from((element as { Literal: string }).Literal));
    else throw new NotCompiled("like");
  }
  return { test: (text) => matchLike(elements, Array.from(text)) };
}

/**
 * Wildcard matching over Unicode scalar values, as Cedar's `like`: linear backtracking to the
 * last wildcard, O(pattern × text), never a regular expression an attacker could make explode.
 */
export function matchLike(pattern: ReadonlyArray<string | null>, text: readonly string[]): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== null && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === null) {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === null) p++;
  return p === pattern.length;
}

function typeError(expected: string, _value: CedarValue): Error {
  return new CedarEvaluationError(`type error: expected ${expected}`);
}

function bool(value: CedarValue): boolean {
  if (typeof value === "boolean") return value;
  throw typeError("a boolean", value);
}

function long(value: CedarValue): number | bigint {
  if (isLong(value)) return value;
  throw typeError("a Long", value);
}

function string(value: CedarValue): string {
  if (typeof value === "string") return value;
  throw typeError("a string", value);
}

function set(value: CedarValue): readonly CedarValue[] {
  if (Array.isArray(value)) return value;
  throw typeError("a set", value);
}

function entity(value: CedarValue): EntityUid {
  if (value instanceof EntityUid) return value;
  throw typeError("an entity", value);
}
