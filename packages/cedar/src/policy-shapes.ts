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
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === "/" && text[index + 1] === "/") {
      const end = text.indexOf("\n", index);
      index = end < 0 ? text.length : end;
      continue;
    }
    if (char !== '"') continue;
    const close = text.indexOf('"', index + 1);
    if (close < 0) return undefined;
    const value = text.slice(index + 1, close);
    if (value.includes("\\")) return undefined;
    if (templatable(text, index, close)) {
      shape += `${text.slice(start, index)}"${PLACEHOLDER}${literals.length}__"`;
      literals.push(value);
      start = close + 1;
    }
    index = close;
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
  if (typeof json === "string") {
    if (!json.startsWith(PLACEHOLDER)) return json;
    const index = Number(json.slice(PLACEHOLDER.length, -2));
    const value = literals[index];
    if (value === undefined) throw new Error(`no literal ${index}`);
    return value;
  }
  if (Array.isArray(json)) return json.map((item) => fillLiterals(item, literals));
  if (typeof json === "object" && json !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(json)) out[key] = fillLiterals(value, literals);
    return out;
  }
  return json;
}
