import type { StandardSchemaV1 } from "@agentgate/core";
import { type Schema, type SchemaDraft, Validator } from "@cfworker/json-schema";

/** The JSON Schema dialects a tool's `inputSchema` may declare in `$schema`. */
const DRAFTS: ReadonlyArray<readonly [RegExp, SchemaDraft]> = [
  [/draft-04\/schema/, "4"],
  [/draft-07\/schema/, "7"],
  [/draft\/2019-09\/schema/, "2019-09"],
  [/draft\/2020-12\/schema/, "2020-12"],
];

/**
 * A Standard Schema that validates arguments against an MCP tool's `inputSchema` (JSON Schema),
 * so the gate refuses arguments the tool does not accept with `invalid_arguments`, before any
 * policy sees them, and audits the refusal (SECURITY.md L92). The dialect comes from the
 * schema's `$schema`; without one it is JSON Schema 2020-12, the MCP default.
 *
 * A schema the validator cannot use (a `$ref` it cannot resolve, a keyword of the wrong type)
 * throws when a call is validated, and the gate denies that call: an unreadable schema never
 * lets arguments through unchecked.
 *
 * @example
 * ```ts
 * const descriptor = { name: tool.name, server: "everything", schema: inputSchemaOf(tool.inputSchema) };
 * ```
 */
export function inputSchemaOf(inputSchema: Readonly<Record<string, unknown>>): StandardSchemaV1 {
  let validator: Validator | undefined;
  return {
    "~standard": {
      version: 1,
      vendor: "agentgate-mcp-json-schema",
      validate(value) {
        validator ??= new Validator(inputSchema as Schema, draftOf(inputSchema), false);
        const result = validator.validate(value);
        if (result.valid) return { value };
        // The deepest error names the argument at fault ("#/message: type number is invalid").
        const errors = [...result.errors].sort(
          (a, b) => depth(b.instanceLocation) - depth(a.instanceLocation),
        );
        return {
          issues: errors.slice(0, 1).map((error) => ({
            message: error.error,
            path: pathOf(error.instanceLocation),
          })),
        };
      },
    },
  };
}

function draftOf(schema: Readonly<Record<string, unknown>>): SchemaDraft {
  const declared = typeof schema.$schema === "string" ? schema.$schema : "";
  return DRAFTS.find(([pattern]) => pattern.test(declared))?.[1] ?? "2020-12";
}

function depth(location: string): number {
  return pathOf(location).length;
}

/** `#/a/b~1c` (a JSON Pointer fragment, RFC 6901) as `["a", "b/c"]`. */
function pathOf(location: string): string[] {
  return location
    .replace(/^#\/?/, "")
    .split("/")
    .filter((part) => part !== "")
    .map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"));
}
