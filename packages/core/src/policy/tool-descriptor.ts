import type { AccessResource, ActionKind } from "./access-request.js";

/**
 * The Standard Schema v1 interface (standardschema.dev), which zod (3.24+ and 4), valibot and
 * arktype implement: the gate validates tool arguments through it without depending on one
 * schema library.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The result of a Standard Schema validation. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

/**
 * What the gate knows about a tool: its name, where it comes from, how to validate its arguments
 * and how a call maps to an authorization request. Declared once, next to the tool.
 *
 * @example
 * ```ts
 * const lookup: ToolDescriptor = {
 *   name: "crm_lookup",
 *   action: "read",
 *   resources: { customer: "customerId" },   // argument customerId names a Customer
 *   schema: z.object({ customerId: z.string() }),
 * };
 * ```
 */
export interface ToolDescriptor {
  /** The tool's name, as the model sees it. */
  readonly name: string;
  /**
   * The server or toolkit the tool belongs to (an MCP server's identity). Tools of the same name
   * from different servers are different resources (SECURITY.md I66).
   */
  readonly server?: string;
  readonly description?: string;
  /** Validates the arguments; a failure denies with `invalid_arguments` before any policy runs. */
  readonly schema?: StandardSchemaV1;
  /** The action kind policies see as `action.name`. Default `execute`. */
  readonly action?: ActionKind;
  /**
   * Business resources named by the arguments: resource type → argument path (dot-separated),
   * e.g. `{ customer: "customerId" }` puts `context.resources.customer = args.customerId`.
   */
  readonly resources?: Readonly<Record<string, string>>;
  /** Overrides the default resource (the tool itself) entirely. */
  readonly resource?: (args: Readonly<Record<string, unknown>>) => AccessResource;
}
