/**
 * A Cedar string literal of `value`: quotes and backslashes escaped, and every character outside
 * printable ASCII written as `\u{…}`, so a value taken from the log can never end the literal,
 * start a new clause or hide in invisible characters (SECURITY.md N115).
 */
export function cedarString(value: string): string {
  let text = '"';
  for (const character of value) {
    const code = character.codePointAt(0) ?? 0;
    if (character === '"' || character === "\\") text += `\\${character}`;
    else if (code < 0x20 || code > 0x7e) text += `\\u{${code.toString(16)}}`;
    else text += character;
  }
  return `${text}"`;
}

/** Text for a `//` comment: one line of printable ASCII, anything else shown as `?`. */
export function commentText(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?");
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `record has name` in Cedar: the bare name when it is an identifier, else a string literal. */
export function hasAttribute(record: string, name: string): string {
  return `${record} has ${IDENTIFIER.test(name) ? name : cedarString(name)}`;
}

/** `record.name` in Cedar, or `record["name"]` when the name is not an identifier. */
export function attribute(record: string, name: string): string {
  return IDENTIFIER.test(name) ? `${record}.${name}` : `${record}[${cedarString(name)}]`;
}
