/**
 * A strict JSON reader for untrusted, security-relevant text (token headers and claims).
 *
 * `JSON.parse` silently keeps the last of two duplicate member names, so `{"alg":"EdDSA","alg":"none"}`
 * means different things to different readers (RFC 7515 §4 allows rejecting; we reject,
 * SECURITY.md I65). Nesting depth is bounded before any recursive work happens (G54, A15),
 * and the member names `__proto__`, `constructor` and `prototype` are refused (G53).
 */

/** Limits for {@link parseStrictJson}. */
export interface StrictJsonLimits {
  /** Deepest allowed nesting of arrays and objects; the top level is depth 1. */
  readonly maxDepth: number;
}

/** Thrown by {@link parseStrictJson}; its message says what was wrong, never echoes the input. */
export class StrictJsonError extends Error {
  override readonly name = "StrictJsonError";
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Parses `text` as JSON after checking it has no duplicate member names, no forbidden member
 * names and no nesting deeper than `limits.maxDepth`. Throws {@link StrictJsonError} otherwise.
 */
export function parseStrictJson(text: string, limits: StrictJsonLimits): unknown {
  const scanner = new Scanner(text, limits.maxDepth);
  scanner.value(1);
  scanner.whitespace();
  if (scanner.position !== text.length) throw new StrictJsonError("trailing characters after JSON");
  try {
    return JSON.parse(text);
  } catch {
    throw new StrictJsonError("malformed JSON");
  }
}

class Scanner {
  position = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  whitespace(): void {
    const text = this.text;
    while (this.position < text.length) {
      const c = text.charCodeAt(this.position);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.position++;
    }
  }

  value(depth: number): void {
    this.whitespace();
    const c = this.text[this.position];
    if (c === "{") this.object(depth);
    else if (c === "[") this.array(depth);
    else if (c === '"') this.string();
    else this.scalar();
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) throw new StrictJsonError(`nesting deeper than ${this.maxDepth}`);
    this.position++;
  }

  private object(depth: number): void {
    this.enter(depth);
    const keys = new Set<string>();
    this.whitespace();
    if (this.text[this.position] === "}") {
      this.position++;
      return;
    }
    for (;;) {
      this.whitespace();
      if (this.text[this.position] !== '"') throw new StrictJsonError("expected a member name");
      const key = this.string();
      if (keys.has(key)) throw new StrictJsonError(`duplicate member name "${printable(key)}"`);
      if (FORBIDDEN_KEYS.has(key)) throw new StrictJsonError(`forbidden member name "${key}"`);
      keys.add(key);
      this.whitespace();
      if (this.text[this.position] !== ":") throw new StrictJsonError("expected ':'");
      this.position++;
      this.value(depth + 1);
      this.whitespace();
      const next = this.text[this.position++];
      if (next === "}") return;
      if (next !== ",") throw new StrictJsonError("expected ',' or '}'");
    }
  }

  private array(depth: number): void {
    this.enter(depth);
    this.whitespace();
    if (this.text[this.position] === "]") {
      this.position++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.whitespace();
      const next = this.text[this.position++];
      if (next === "]") return;
      if (next !== ",") throw new StrictJsonError("expected ',' or ']'");
    }
  }

  /** Reads a string literal and returns its decoded value (so "\u0061lg" and "alg" collide). */
  string(): string {
    const start = this.position;
    this.position++;
    const text = this.text;
    let escaped = false;
    while (this.position < text.length) {
      const c = text[this.position++];
      if (c === "\\") {
        escaped = true;
        this.position++;
      } else if (c === '"') {
        const literal = text.slice(start, this.position);
        if (!escaped) return literal.slice(1, -1);
        try {
          return JSON.parse(literal) as string;
        } catch {
          throw new StrictJsonError("malformed string");
        }
      }
    }
    throw new StrictJsonError("unterminated string");
  }

  private scalar(): void {
    const match = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
      this.text.slice(this.position, this.position + 64),
    );
    if (!match) throw new StrictJsonError("unexpected token");
    this.position += match[0].length;
  }
}

function printable(key: string): string {
  return key.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
}
