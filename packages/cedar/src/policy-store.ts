import { AgentGateError } from "@agentgate/core";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { collectNeeds, emptyNeeds, type Needs } from "./policy-needs.js";
import { literalFiller, shapeOf } from "./policy-shapes.js";

/** One policy of a loaded set, with where it came from. */
export interface PolicyEntry {
  /** Its `@id` annotation, or `<file>#<index>`. */
  readonly id: string;
  readonly text: string;
  readonly file: string;
  readonly line: number | undefined;
  readonly effect: "permit" | "forbid";
  readonly annotations: Readonly<Record<string, string>>;
  readonly scope: {
    readonly principal: ScopeConstraint;
    readonly action: ScopeConstraint;
    readonly resource: ScopeConstraint;
  };
  /** What the policy's conditions read from a request. */
  readonly needs: Needs;
  /** The policy in Cedar's JSON form (`policyToJson`), which the compiled evaluator compiles. */
  readonly json: unknown;
}

/** A policy's scope constraint on one variable, reduced to what slicing needs. */
export type ScopeConstraint =
  | { readonly op: "any" }
  | { readonly op: "eq"; readonly uid: string }
  | { readonly op: "oneOf"; readonly uids: readonly string[] }
  | { readonly op: "is"; readonly type: string }
  | { readonly op: "in" };

/**
 * Parses and validates policy files against a schema in strict mode. Any syntax error, schema
 * violation or duplicate id rejects the whole set with `policy_invalid`, naming the file and line
 * (SECURITY.md C32, I61): Cedar skips policies that error at evaluation, so an unvalidated
 * `forbid` could stop forbidding. Each file is parsed on its own (so a syntax error names its
 * file), then the whole set is validated in one call: the schema is read once, not per file.
 */
export function loadPolicies(
  files: ReadonlyArray<{ file: string; text: string }>,
  schema: string,
): PolicyEntry[] {
  const problems: string[] = [];
  const entries: Located[] = [];
  const ids = new Set<string>();
  const converted = new Map<string, ShapeTemplate | null>();
  const toJson = (text: string): { json?: PolicyJson; error?: string; errorAt?: number } => {
    const answer = cedar.policyToJson(text);
    if (answer.type === "success") return { json: answer.json };
    const errorAt = answer.errors[0]?.sourceLocations?.[0]?.start;
    return {
      error: answer.errors.map((error) => error.message).join("; "),
      ...(errorAt === undefined ? {} : { errorAt }),
    };
  };
  for (const { file, fileText, policyText, at, index, line } of splitPolicies(files, problems)) {
    const shaped = shapeOf(policyText);
    let result: { json?: PolicyJson; error?: string; errorAt?: number } | undefined;
    let template: ShapeTemplate | null | undefined;
    if (shaped !== undefined) {
      template = converted.get(shaped.shape);
      if (template === undefined) {
        const json = toJson(shaped.shape).json;
        template = json === undefined ? null : { fill: literalFiller(json), needs: undefined };
        converted.set(shaped.shape, template);
      }
      if (template !== null) result = { json: template.fill(shaped.literals) as PolicyJson };
    }
    result ??= toJson(policyText);
    if (result.json === undefined) {
      problems.push(`${file}:${lineOf(fileText, at + (result.errorAt ?? 0))}: ${result.error}`);
      continue;
    }
    const json = result.json;
    const annotations = (json.annotations ?? {}) as Record<string, string>;
    const id = annotations.id ?? `${file}#${index}`;
    if (ids.has(id)) problems.push(`${file}:${line}: policy id "${id}" is used twice`);
    ids.add(id);
    entries.push({
      id,
      text: policyText,
      file,
      line,
      effect: json.effect,
      annotations,
      scope: {
        principal: constraintOf(json.principal),
        action: constraintOf(json.action),
        resource: constraintOf(json.resource),
      },
      needs: neededBy(json, template),
      json,
      offset: at,
      fileText,
      shape: shaped?.shape,
    });
  }
  if (problems.length === 0 && entries.length > 0) validateSet(entries, schema, problems);
  if (problems.length > 0) {
    throw new AgentGateError(
      "policy_invalid",
      `The policy set is not valid:\n  ${problems.join("\n  ")}`,
    );
  }
  return entries.map(({ offset: _offset, fileText: _fileText, shape: _shape, ...entry }) => entry);
}

/** A shape's filler, and what its policies read (names are never placeholders). */
interface ShapeTemplate {
  readonly fill: (literals: readonly string[]) => unknown;
  needs: Needs | undefined;
}

/** What a policy reads, computed once per shape. */
function neededBy(json: PolicyJson, template: ShapeTemplate | null | undefined): Needs {
  if (template === null || template === undefined)
    return collectNeeds(json.conditions, emptyNeeds());
  template.needs ??= collectNeeds(json.conditions, emptyNeeds());
  return template.needs;
}

/** An entry while loading: where it is in its file, and its shape. */
type Located = PolicyEntry & {
  readonly offset: number;
  readonly fileText: string;
  readonly shape: string | undefined;
};

type PolicyJson = Extract<ReturnType<typeof cedar.policyToJson>, { type: "success" }>["json"];

interface Piece {
  readonly file: string;
  readonly fileText: string;
  readonly policyText: string;
  /** Offset of the policy in its file. */
  readonly at: number;
  /** Its position in its file. */
  readonly index: number;
  /** The line it starts on. */
  readonly line: number;
}

/**
 * Every policy of every file, with where it is, split lexically: in Cedar's grammar a `;` outside
 * strings and comments ends a policy and appears nowhere else, so each piece is exactly one
 * policy of the file, and Cedar's own parser (`policyToJson`, run on each distinct shape) still
 * judges every piece. What is left after the last `;` other than blanks and comments is an
 * unfinished policy, handed to Cedar's parser for its message.
 */
function splitPolicies(
  files: ReadonlyArray<{ file: string; text: string }>,
  problems: string[],
): Piece[] {
  const located: Piece[] = [];
  for (const { file, text } of files) {
    let start = 0;
    let inFile = 0;
    // Lines counted as the scan goes (offsets only grow), never from the file's start again.
    let line = 1;
    let counted = 0;
    const lineAt = (offset: number) => {
      for (;;) {
        const newline = text.indexOf("\n", counted);
        if (newline < 0 || newline >= offset) break;
        line++;
        counted = newline + 1;
      }
      return line;
    };
    const piece = (end: number) => {
      const at = skipBlank(text, start);
      if (at < end) {
        located.push({
          file,
          fileText: text,
          policyText: text.slice(at, end),
          at,
          line: lineAt(at),
          index: inFile++,
        });
      }
    };
    // Strings (a backslash escapes the next character), comments and `;`, by one native regex.
    const special = /"(?:[^"\\]|\\[\s\S])*"?|\/\/[^\n]*|;/g;
    for (let found = special.exec(text); found !== null; found = special.exec(text)) {
      if (found[0] !== ";") continue;
      piece(found.index + 1);
      start = found.index + 1;
    }
    if (skipBlank(text, start) < text.length) {
      const parsed = cedar.checkParsePolicySet({ staticPolicies: text });
      const errors =
        parsed.type === "success"
          ? [{ message: "unexpected end of input", sourceLocations: [{ start }] }]
          : parsed.errors;
      problems.push(
        ...errors.map(
          (error) => `${file}:${lineOf(text, error.sourceLocations?.[0]?.start)}: ${error.message}`,
        ),
      );
    }
  }
  return located;
}

const BLANK = /(?:\s|\/\/[^\n]*)*/y;

/** The offset of the first character at or after `from` that is neither blank nor in a comment. */
function skipBlank(text: string, from: number): number {
  BLANK.lastIndex = from;
  BLANK.test(text);
  return BLANK.lastIndex;
}

/**
 * Validates the set in strict mode in one call, each distinct shape once (a schema with
 * enumerated entity types, whose ids the validator reads, validates every policy as written).
 * When anything fails, the policies are validated as written, so every message names its own
 * file and line.
 */
function validateSet(entries: readonly Located[], schema: string, problems: string[]): void {
  const byShape = !/\benum\b/.test(schema);
  const distinct = new Map<string, string>();
  for (const entry of entries) {
    const text = (byShape ? entry.shape : undefined) ?? entry.text;
    if (!distinct.has(text)) distinct.set(text, `s${distinct.size}`);
  }
  const validate = (policies: Record<string, string>) =>
    cedar.validate({
      schema,
      policies: { staticPolicies: policies },
      validationSettings: { mode: "strict" },
    });
  const quick = validate(Object.fromEntries([...distinct].map(([text, key]) => [key, text])));
  if (quick.type === "success" && quick.validationErrors.length === 0) return;
  const byId = new Map(entries.map((entry, index) => [`p${index}`, entry]));
  const validation = validate(
    Object.fromEntries([...byId].map(([key, entry]) => [key, entry.text])),
  );
  if (validation.type !== "success") {
    problems.push(...validation.errors.map((error) => `schema: ${error.message}`));
    return;
  }
  const seen = new Set<string>();
  for (const { policyId, error } of validation.validationErrors) {
    const entry = byId.get(policyId);
    const start = error.sourceLocations?.[0]?.start;
    const where =
      entry === undefined
        ? policyId
        : `${entry.file}:${lineOf(entry.fileText, entry.offset + (start ?? 0))}`;
    const message = error.message
      .replace(/ for Action::"[^"]+"$/, "")
      .replace(/^for policy `[^`]+`, /, "");
    if (!seen.has(`${where} ${message}`))
      problems.push(`${where}: ${message}${error.help ? ` (${error.help})` : ""}`);
    seen.add(`${where} ${message}`);
  }
}

type JsonConstraint = {
  op: string;
  entity?: unknown;
  entities?: unknown[];
  entity_type?: string;
  slot?: string;
};

function constraintOf(constraint: JsonConstraint): ScopeConstraint {
  if (constraint.op === "All") return { op: "any" };
  if (constraint.op === "==" && constraint.entity !== undefined)
    return { op: "eq", uid: uidOf(constraint.entity) };
  if (constraint.op === "in" && Array.isArray(constraint.entities)) {
    return { op: "oneOf", uids: constraint.entities.map(uidOf) };
  }
  if (
    constraint.op === "is" &&
    constraint.entity_type !== undefined &&
    constraint.entity === undefined
  ) {
    return { op: "is", type: constraint.entity_type };
  }
  // `in` an entity (hierarchy), `is … in …`, slots: kept conservatively in every slice.
  return { op: "in" };
}

/** `Type::"id"` of an entity uid in Cedar's JSON forms. */
export function uidOf(entity: unknown): string {
  const value =
    (entity as { __entity?: { type: string; id: string } }).__entity ??
    (entity as { type: string; id: string });
  return `${value.type}::${JSON.stringify(value.id)}`;
}

function lineOf(text: string, offset: number | undefined): number {
  if (offset === undefined || offset < 0) return 1;
  let line = 1;
  for (let index = 0; index < offset && index < text.length; index++)
    if (text.charCodeAt(index) === 10) line++;
  return line;
}
