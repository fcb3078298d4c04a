/**
 * Loading thousands of policies fast. Stores grow by repetition: the same rule for another
 * agent, another tool, another customer. The parts of a policy that neither Cedar's JSON form
 * nor its validator interpret (string values and entity ids outside the `Action` type) are
 * replaced by numbered placeholders; policies of one shape are then converted and validated
 * once. Anything whose meaning could depend on the text of a string (escapes, `like` patterns,
 * attribute names written as strings, record keys, action ids, extension constructor arguments)
 * is kept as written, so a shape
 * never merges two policies that Cedar could tell apart.
 */

const PLACEHOLDER = "__agentgate_literal_";

/** A policy's shape and the literals taken out of it, or undefined when it is kept whole. */
export interface PolicyShape {
  readonly shape: string;
  readonly literals: readonly string[];
}

/** Splits a policy's text into its shape and literals (see the module description). */
export function shapeOf(text: string): PolicyShape | undefined {
  if (text.includes(PLACEHOLDER)) return undefined;
  let shape = "";
  const literals: string[] = [];
  let start = 0;
  // Strings and comments found by one native regular expression, not a character loop.
  const special = /"[^"]*"?|\/\/[^\n]*/g;
  for (let found = special.exec(text); found !== null; found = special.exec(text)) {
    const token = found[0];
    if (token.charCodeAt(0) !== 34) continue; // a comment
    if (token.length < 2 || token.charCodeAt(token.length - 1) !== 34) return undefined;
    const value = token.slice(1, -1);
    if (value.includes("\\")) return undefined;
    const index = found.index;
    const close = index + token.length - 1;
    if (templatable(text, index, close)) {
      shape += `${text.slice(start, index)}"${PLACEHOLDER}${literals.length}__"`;
      literals.push(value);
      start = close + 1;
    }
  }
  return { shape: shape + text.slice(start), literals };
}

function templatable(text: string, open: number, close: number): boolean {
  const before = text.slice(Math.max(0, open - 64), open).trimEnd();
  const after = text.slice(close + 1, close + 8).trimStart();
  if (before.endsWith("::")) return !/(?:^|[^A-Za-z0-9_])Action::$/.test(before);
  if (before.endsWith("[") || before.endsWith("{") || after.startsWith(":")) return false;
  if (/(?:^|[^A-Za-z0-9_])(?:has|like)$/.test(before)) return false;
  // Extension constructors check their literal argument (`decimal("1.5")`, `ip("10.0.0.1")`).
  if (/(?:^|[^A-Za-z0-9_])(?:decimal|ip|datetime|duration)\s*\($/.test(before)) return false;
  return true;
}

/** Puts a shape's literals back into its JSON form: every placeholder string becomes its value. */
export function fillLiterals(json: unknown, literals: readonly string[]): unknown {
  return literalFiller(json)(literals);
}

/**
 * A shape's JSON form made into a filler, once per shape: the JSON text cut at its placeholder
 * strings, so that each policy of the shape costs one string join and one `JSON.parse` (native,
 * and no per-node copying in JavaScript).
 */
export function literalFiller(json: unknown): (literals: readonly string[]) => unknown {
  const text = JSON.stringify(json);
  const parts: string[] = [];
  const indexes: number[] = [];
  let last = 0;
  for (const match of text.matchAll(new RegExp(`"${PLACEHOLDER}([0-9]+)__"`, "g"))) {
    parts.push(text.slice(last, match.index));
    indexes.push(Number(match[1]));
    last = match.index + match[0].length;
  }
  const tail = text.slice(last);
  return (literals) => {
    let out = "";
    for (let index = 0; index < indexes.length; index++) {
      const value = literals[indexes[index] as number];
      if (value === undefined) throw new Error(`no literal ${indexes[index]}`);
      out += parts[index] + JSON.stringify(value);
    }
    return JSON.parse(out + tail);
  };
}
