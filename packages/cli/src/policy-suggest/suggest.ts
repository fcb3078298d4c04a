import { CedarPolicyClient, DEFAULT_ENTITY_TYPES } from "@agentgate/cedar";
import { type AuditRecord, isAgentGateError } from "@agentgate/core";
import { accessTime } from "@agentgate/core/internal";
import { attribute, cedarString, commentText, hasAttribute } from "./cedar-text.js";

/** Options of {@link suggestPolicies}. */
export interface SuggestOptions {
  /** The agent whose allowed calls become permits. */
  readonly agent: string;
  /** The Cedar schema text every suggested policy must validate against. */
  readonly schema: string;
  /** Where the schema came from, for the comment header. */
  readonly schemaSource: string;
  /** Where the records came from (the log directory), for the comment header. */
  readonly source: string;
  /** The IANA time zone the gate computes local hours in (config.json `timeZone`). */
  readonly timeZone: string;
}

/** What {@link suggestPolicies} wrote, and what it could not. */
export interface Suggestion {
  /** The Cedar file: a comment header, then one permit per action and resource seen. */
  readonly text: string;
  /** How many permits it holds. */
  readonly policies: number;
  /** How many allowed calls of the agent they were made from. */
  readonly calls: number;
  /** Constraints or whole permits left out because the schema does not declare what they read. */
  readonly notes: readonly string[];
}

interface Group {
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly calls: AuditRecord[];
}

/**
 * The narrowest Cedar permits for what `agent` was observed doing, as AWS IAM Access Analyzer
 * writes policies from CloudTrail: from the agent's ALLOWED `decision` records only, one permit
 * per action and resource (the tool), limited to the business-resource values seen (each with the
 * local hours it was seen at) and carrying the obligations the observed calls carried (an approval
 * stays required). Every permit is validated against `schema`; a constraint the schema cannot
 * express is left out and said in `notes`, so the file always loads. The records must come from a
 * verified log ({@link readVerifiedLog}); this function does not verify.
 */
export function suggestPolicies(
  records: readonly AuditRecord[],
  options: SuggestOptions,
): Suggestion {
  const groups = new Map<string, Group>();
  for (const record of records) {
    if (record.type !== "decision" || record.decision?.allowed !== true) continue;
    if (record.agent !== options.agent || record.action === undefined) continue;
    if (record.resource === undefined) continue;
    const key = JSON.stringify([record.action, record.resource.type, record.resource.id]);
    let group = groups.get(key);
    if (group === undefined) {
      group = {
        action: record.action,
        resourceType: record.resource.type,
        resourceId: record.resource.id,
        calls: [],
      };
      groups.set(key, group);
    }
    group.calls.push(record);
  }
  const notes: string[] = [];
  const blocks: string[] = [];
  const name = commentText(options.agent.split("/").at(-1) ?? "agent").replace(
    /[^A-Za-z0-9_-]/g,
    "_",
  );
  const ids = new Set<string>();
  const sorted = [...groups.values()].sort((a, b) =>
    `${a.resourceId}\u0000${a.action}`.localeCompare(`${b.resourceId}\u0000${b.action}`),
  );
  for (const group of sorted) {
    let id = `suggested-${name}-${group.action}-${group.resourceId}`.replace(
      /[^A-Za-z0-9_./:-]/g,
      "_",
    );
    for (let n = 2; ids.has(id); n++) id = `${id}-${n}`;
    ids.add(id);
    const block = permitFor(group, id, options, notes);
    if (block !== undefined) blocks.push(block);
  }
  const calls = sorted.reduce((sum, group) => sum + group.calls.length, 0);
  const times = sorted.flatMap((group) => group.calls.map((call) => call.time)).sort();
  const header = [
    `// Suggested by \`agentgate policy suggest\` for review: the narrowest permits for what`,
    `// ${commentText(options.agent)} was observed doing.`,
    `// From ${calls} allowed call(s)${times.length > 0 ? ` between ${times[0]} and ${times.at(-1)}` : ""} in the verified audit log`,
    `// ${commentText(options.source)} (only records its signed checkpoints cover).`,
    `// Local hours are in ${commentText(options.timeZone)}. Validated against ${commentText(options.schemaSource)}.`,
    "// Each permit allows only the action, tool, resource values and hours seen; nothing here",
    "// forbids. Replay it before use: agentgate policy replay --policies <dir> --from <log>",
    ...notes.map((note) => `// Note: ${commentText(note)}`),
  ];
  const text = `${header.join("\n")}\n${blocks.length === 0 ? "" : `\n${blocks.join("\n\n")}\n`}`;
  // The file as a whole must load: anything else is a bug here, never a file left for the user.
  new CedarPolicyClient({ policies: { "suggested.cedar": text }, schema: options.schema });
  return { text, policies: blocks.length, calls, notes };
}

/** One permit for one action on one resource, or `undefined` when the schema cannot have it. */
function permitFor(
  group: Group,
  id: string,
  options: SuggestOptions,
  notes: string[],
): string | undefined {
  const entityType =
    DEFAULT_ENTITY_TYPES[group.resourceType] ??
    `${group.resourceType.charAt(0).toUpperCase()}${group.resourceType.slice(1)}`;
  const scope = [
    `  principal == Agent::${cedarString(options.agent)},`,
    `  action == Action::${cedarString(group.action)},`,
    `  resource == ${/^[A-Za-z_][A-Za-z0-9_]*$/.test(entityType) ? entityType : "Tool"}::${cedarString(group.resourceId)}`,
  ].join("\n");
  const obligations = [
    ...new Set(group.calls.flatMap((call) => call.decision?.obligations ?? [])),
  ].sort();
  const annotations = [
    `@id(${cedarString(id)})`,
    ...(obligations.length === 0 ? [] : [`@obligation(${cedarString(obligations.join("; "))})`]),
  ].join("\n");
  const what = `${group.action} on ${group.resourceType} ${group.resourceId}`;
  const policy = (conditions: readonly string[]) =>
    `${annotations}\npermit (\n${scope}\n)${conditions.length === 0 ? "" : `\nwhen {\n  ${conditions.join(" &&\n  ")}\n}`};`;
  if (problem(policy([]), options.schema) !== undefined) {
    notes.push(
      `${what}: not suggested, the schema does not allow it (${problem(policy([]), options.schema)})`,
    );
    return undefined;
  }
  const hoursOf = (call: AuditRecord) => accessTime(Date.parse(call.time), options.timeZone).hour;
  const zone = `context.time.timeZone == ${cedarString(options.timeZone)}`;
  const withHours = problem(policy([zone, "context.time.hour == 0"]), options.schema) === undefined;
  if (!withHours) notes.push(`${what}: the schema has no context.time; hours are not limited`);
  // The business resources (context.resources) the calls named, where the schema declares them.
  const keys: string[] = [];
  if (group.resourceType === "tool") {
    const seen = new Set(
      group.calls.flatMap((call) =>
        Object.entries(call.resource?.properties ?? {})
          .filter(([, value]) => typeof value === "string")
          .map(([key]) => key),
      ),
    );
    for (const key of [...seen].sort()) {
      const probe = `${hasAttribute("context.resources", key)} && ${attribute("context.resources", key)} == ""`;
      if (problem(policy([probe]), options.schema) === undefined) keys.push(key);
      else notes.push(`${what}: the schema's Resources has no ${key}; its values are not limited`);
    }
  }
  // Each combination of resource values seen, with the hours it was seen at.
  const cases = new Map<string, { values: (string | undefined)[]; hours: Set<number> }>();
  for (const call of group.calls) {
    const values = keys.map((key) => {
      const value = call.resource?.properties?.[key];
      return typeof value === "string" ? value : undefined;
    });
    const caseKey = JSON.stringify(values);
    let found = cases.get(caseKey);
    if (found === undefined) {
      found = { values, hours: new Set() };
      cases.set(caseKey, found);
    }
    found.hours.add(hoursOf(call));
  }
  // Cases seen at the same hours share one clause.
  const byHours = new Map<string, { hours: number[]; values: (string | undefined)[][] }>();
  for (const found of cases.values()) {
    const hours = [...found.hours].sort((a, b) => a - b);
    const key = withHours ? hours.join(",") : "";
    const entry = byHours.get(key) ?? { hours, values: [] };
    entry.values.push(found.values);
    byHours.set(key, entry);
  }
  const clauses: string[] = [];
  for (const { hours, values } of byHours.values()) {
    const parts: string[] = [];
    if (keys.length > 0) parts.push(resourceCondition(keys, values));
    if (withHours)
      parts.push(
        hours.length === 1
          ? `context.time.hour == ${hours[0]}`
          : `[${hours.join(", ")}].contains(context.time.hour)`,
      );
    if (parts.length > 0)
      clauses.push(parts.length === 1 ? (parts[0] as string) : `(${parts.join(" && ")})`);
  }
  const conditions: string[] = [];
  if (withHours) conditions.push(zone);
  if (clauses.length === 1) conditions.push(clauses[0] as string);
  else if (clauses.length > 1) conditions.push(`(\n    ${clauses.join(" ||\n    ")}\n  )`);
  const seqs = group.calls.map((call) => call.seq);
  const comment = `// ${group.calls.length} allowed call(s): records ${commentText(seqs.slice(0, 20).join(", "))}${seqs.length > 20 ? ", …" : ""}`;
  const text = `${comment}\n${policy(conditions)}`;
  const invalid = problem(text, options.schema);
  if (invalid !== undefined) {
    notes.push(`${what}: not suggested (${invalid})`);
    return undefined;
  }
  return text;
}

/** The resources condition of one clause: the value combinations seen, and absence when seen. */
function resourceCondition(
  keys: readonly string[],
  combinations: readonly (string | undefined)[][],
): string {
  const one = (key: string, value: string | undefined) =>
    value === undefined
      ? `!(${hasAttribute("context.resources", key)})`
      : `${hasAttribute("context.resources", key)} && ${attribute("context.resources", key)} == ${cedarString(value)}`;
  if (keys.length === 1) {
    const key = keys[0] as string;
    const present = combinations.map((values) => values[0]).filter((value) => value !== undefined);
    const absent = combinations.some((values) => values[0] === undefined);
    const has = hasAttribute("context.resources", key);
    const read = attribute("context.resources", key);
    const listed =
      present.length === 0
        ? undefined
        : present.length === 1
          ? `${has} && ${read} == ${cedarString(present[0] as string)}`
          : `${has} && [${present.map(cedarString).join(", ")}].contains(${read})`;
    if (!absent) return listed ?? "false";
    return listed === undefined ? `!(${has})` : `(!(${has}) || (${listed}))`;
  }
  const each = combinations.map(
    (values) => `(${keys.map((key, index) => one(key, values[index])).join(" && ")})`,
  );
  return each.length === 1 ? (each[0] as string) : `(${each.join(" || ")})`;
}

/** Why `text` does not validate against `schema`, or `undefined` when it does. */
function problem(text: string, schema: string): string | undefined {
  try {
    new CedarPolicyClient({ policies: { "suggested.cedar": text }, schema });
    return undefined;
  } catch (error) {
    if (isAgentGateError(error)) return error.message;
    throw error;
  }
}
