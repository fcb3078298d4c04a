import { AgentGateError } from "@agentgate/core";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { collectNeeds, emptyNeeds, type Needs } from "./policy-needs.js";

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
 * (SECURITY-CASES C32, I61): Cedar skips policies that error at evaluation, so an unvalidated
 * `forbid` could stop forbidding. Each file is parsed on its own (so a syntax error names its
 * file), then the whole set is validated in one call: the schema is read once, not per file.
 */
export function loadPolicies(
  files: ReadonlyArray<{ file: string; text: string }>,
  schema: string,
): PolicyEntry[] {
  const problems: string[] = [];
  const entries: Array<PolicyEntry & { readonly offset: number; readonly fileText: string }> = [];
  const ids = new Set<string>();
  for (const { file, text } of files) {
    const parts = cedar.policySetTextToParts(text);
    if (parts.type !== "success") {
      const parsed = cedar.checkParsePolicySet({ staticPolicies: text });
      const errors = parsed.type === "success" ? parts.errors : parsed.errors;
      problems.push(
        ...errors.map(
          (error) => `${file}:${lineOf(text, error.sourceLocations?.[0]?.start)}: ${error.message}`,
        ),
      );
      continue;
    }
    if (parts.policy_templates.length > 0) {
      problems.push(`${file}: templates are not supported; write static policies`);
      continue;
    }
    let cursor = 0;
    parts.policies.forEach((policyText, index) => {
      const at = text.indexOf(policyText, cursor);
      if (at >= 0) cursor = at + policyText.length;
      const json = cedar.policyToJson(policyText);
      if (json.type !== "success") {
        problems.push(
          `${file}:${lineOf(text, at)}: ${json.errors.map((error) => error.message).join("; ")}`,
        );
        return;
      }
      const annotations = (json.json.annotations ?? {}) as Record<string, string>;
      const id = annotations.id ?? `${file}#${index}`;
      if (ids.has(id))
        problems.push(`${file}:${lineOf(text, at)}: policy id "${id}" is used twice`);
      ids.add(id);
      entries.push({
        id,
        text: policyText,
        file,
        line: at >= 0 ? lineOf(text, at) : undefined,
        effect: json.json.effect,
        annotations,
        scope: {
          principal: constraintOf(json.json.principal),
          action: constraintOf(json.json.action),
          resource: constraintOf(json.json.resource),
        },
        needs: collectNeeds(json.json.conditions, emptyNeeds()),
        json: json.json,
        offset: Math.max(at, 0),
        fileText: text,
      });
    });
  }
  if (problems.length === 0 && entries.length > 0) {
    const byId = new Map(entries.map((entry, index) => [`p${index}`, entry]));
    const validation = cedar.validate({
      schema,
      policies: {
        staticPolicies: Object.fromEntries([...byId].map(([key, entry]) => [key, entry.text])),
      },
      validationSettings: { mode: "strict" },
    });
    if (validation.type !== "success") {
      problems.push(...validation.errors.map((error) => `schema: ${error.message}`));
    } else {
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
  }
  if (problems.length > 0) {
    throw new AgentGateError(
      "policy_invalid",
      `The policy set is not valid:\n  ${problems.join("\n  ")}`,
    );
  }
  return entries.map(({ offset: _offset, fileText: _fileText, ...entry }) => entry);
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
