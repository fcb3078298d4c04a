/**
 * Redaction of tool arguments before they reach an audit event, an approver or a log line
 * (SECURITY.md E44). Runs on every call, so it is synchronous, iterative and bounded (G54),
 * and its regular expressions are linear-time (I68).
 */

import { scrubSecrets } from "./secret-patterns.js";

/** Options of {@link createRedactor}. */
export interface RedactionOptions {
  /**
   * Argument paths to redact always: dot-separated member names, `*` for any one member or
   * array index, e.g. `ssn`, `card.number`, `items.*.secret`.
   */
  readonly paths?: readonly string[];
  /** `mask` (default) replaces with `[REDACTED]`; `drop` removes the member; `hash` keeps a digest. */
  readonly mode?: "mask" | "hash" | "drop";
  /**
   * For `hash` mode: a keyed digest (for example an HMAC with a secret key), so that low-entropy
   * secrets cannot be recovered by hashing guesses. Without it, `hash` masks.
   */
  readonly hash?: (value: string) => string;
  /** Member names whose values are always redacted. Default: password, secret, token, API key, auth, authorization, cookie, SSN, private key, credential. */
  readonly keyPattern?: RegExp;
  /** Deeper values become `[TRUNCATED]`. Default 16. */
  readonly maxDepth?: number;
  /** Longer strings are cut. Default 2,048. */
  readonly maxStringLength?: number;
  /**
   * Also mask secrets inside free text (SECURITY.md K86): provider tokens (AWS, Google,
   * GitHub, GitLab, Slack, Stripe, npm, SendGrid, `sk-` keys), Basic and Bearer values, private
   * key blocks, credentials in URLs and connection strings, `password=…` assignments and SSNs.
   * JWTs and card numbers are always masked. Default `true`.
   */
  readonly freeText?: boolean;
}

/**
 * Returns a redacted, fresh, plain copy of `value`. `extraPaths` adds paths for this call only
 * (from a decision's `redact:<path>` obligations).
 */
export type Redactor = (value: unknown, extraPaths?: readonly string[]) => unknown;

const MASK = "[REDACTED]";
const DEFAULT_KEYS =
  /pass(?:word|wd|phrase)?|secret|token|api[-_ ]?key|authori[sz]ation|(?<![a-z])auth(?![a-z])|cookie|ssn|social[-_ ]?security|private[-_ ]?key|credential|card[-_ ]?number|cvv|cvc/i;
// Linear-time matching only (I68): maximal runs of token characters are found by one
// non-backtracking pattern, and JWTs inside a run are found by splitting it on dots.
const TOKEN_RUN = /[A-Za-z0-9_.-]+/g;
const DIGIT_RUN = /\d(?:[ -]?\d){12,18}/g;
const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Builds a {@link Redactor}.
 *
 * @example
 * ```ts
 * const redact = createRedactor({ paths: ["customer.email"] });
 * redact({ password: "hunter2", customer: { email: "a@b.c" } });
 * // → { password: "[REDACTED]", customer: { email: "[REDACTED]" } }
 * ```
 */
export function createRedactor(options: RedactionOptions = {}): Redactor {
  const keyPattern = options.keyPattern ?? DEFAULT_KEYS;
  const maxDepth = options.maxDepth ?? 16;
  const maxLength = options.maxStringLength ?? 2048;
  const basePaths = (options.paths ?? []).map(splitPath);
  const mode = options.mode ?? "mask";
  const freeText = options.freeText ?? true;
  const replace = (value: unknown): unknown =>
    mode === "hash" && options.hash !== undefined ? `hash:${options.hash(stringOf(value))}` : MASK;

  return (value, extraPaths = []) => {
    const paths =
      extraPaths.length === 0 ? basePaths : [...basePaths, ...extraPaths.map(splitPath)];
    const root: { value?: unknown } = {};
    const stack: Array<{ source: unknown; path: string[]; set: (value: unknown) => void }> = [
      { source: value, path: [], set: (copy) => (root.value = copy) },
    ];
    while (stack.length > 0) {
      const { source, path, set } = stack.pop() as (typeof stack)[number];
      if (typeof source === "string") {
        set(scrubString(source, maxLength, freeText));
      } else if (typeof source !== "object" || source === null) {
        set(
          typeof source === "bigint" || typeof source === "function" || typeof source === "symbol"
            ? String(typeof source)
            : source,
        );
      } else if (path.length >= maxDepth) {
        set("[TRUNCATED]");
      } else {
        const isArray = Array.isArray(source);
        const target: Record<string, unknown> | unknown[] = isArray ? [] : {};
        set(target);
        const entries = isArray
          ? (source as unknown[]).map((item, index) => [String(index), item] as const)
          : Object.entries(source);
        for (const [key, child] of entries) {
          if (FORBIDDEN.has(key)) continue;
          const childPath = [...path, key];
          const assign = (copy: unknown) => {
            if (isArray) (target as unknown[])[Number(key)] = copy;
            else (target as Record<string, unknown>)[key] = copy;
          };
          const sensitive =
            (!isArray && keyPattern.test(key)) ||
            paths.some((pattern) => matches(pattern, childPath));
          if (sensitive) {
            if (mode !== "drop" || isArray) assign(replace(child));
          } else {
            stack.push({ source: child, path: childPath, set: assign });
          }
        }
      }
    }
    return root.value;
  };
}

function scrubString(text: string, maxLength: number, freeText: boolean): string {
  // Scrub before cutting, so a cut never splits a secret past recognition.
  // Each pass runs only when it could change something: a JWT starts "eyJ", a card number has
  // at least 13 characters (most arguments are short identifiers, on every call).
  let scrubbed = text.includes("eyJ") ? text.replace(TOKEN_RUN, maskJwts) : text;
  if (scrubbed.length >= 13)
    scrubbed = scrubbed.replace(DIGIT_RUN, (run) => (luhn(run) ? MASK : run));
  if (freeText) scrubbed = scrubSecrets(scrubbed);
  return scrubbed.length > maxLength ? `${scrubbed.slice(0, maxLength)}…[TRUNCATED]` : scrubbed;
}

/** Masks every `<eyJ…>.<eyJ…>.<signature>` inside a run of token characters. */
function maskJwts(run: string): string {
  if (!run.includes("eyJ")) return run;
  const segments = run.split(".");
  const out: string[] = [];
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index] as string;
    const start = segment.indexOf("eyJ");
    // Two base64url JSON segments in a row are a token, or what is left of one after cutting.
    if (start >= 0 && segments[index + 1]?.startsWith("eyJ")) {
      out.push(`${segment.slice(0, start)}${MASK}`);
      index += 2;
    } else {
      out.push(segment);
    }
  }
  return out.join(".");
}

/** The Luhn check of a card-number-like digit run. */
function luhn(run: string): boolean {
  const digits = run.replace(/[ -]/g, "");
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = digits.charCodeAt(digits.length - 1 - index) - 48;
    if (index % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function splitPath(path: string): string[] {
  return path.split(".").filter((part) => part.length > 0);
}

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  if (pattern.length !== path.length) return false;
  return pattern.every((part, index) => part === "*" || part === path[index]);
}

function stringOf(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? "");
}
