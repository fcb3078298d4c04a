import type {
  ActionKind,
  CredentialSource,
  StandardSchemaV1,
  ToolDescriptor,
} from "@agentgate/core";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { StructuredToolInterface } from "@langchain/core/tools";

/**
 * How a tool maps to policy: its action kind and which arguments name business resources.
 * Declare it in `protectTool` options, in the middleware's `tools` map, or on the tool itself
 * as `metadata: { agentgate: { action: "read", resources: { customer: "customerId" } } }`.
 */
export interface ToolPolicy {
  /** `read`, `write`, `delete`, `execute` (the default) or the tool's own verb. */
  readonly action?: ActionKind;
  /** Resource type → argument path, e.g. `{ customer: "customerId" }`. */
  readonly resources?: Readonly<Record<string, string>>;
  /** The toolkit or server the tool belongs to. */
  readonly server?: string;
}

/** Where the credential for a call comes from. */
export interface CredentialOptions {
  /**
   * The agent's credential for every call (the usual case: one agent, its own identity): a
   * `CredentialProvider` that keeps a fresh token, or a token string.
   */
  readonly credential?: CredentialSource;
  /**
   * Per-run credential (a multi-tenant server acting for many agents): read from the runnable
   * config. Default: `config.context.agentToken`, then `config.configurable.agentToken`.
   */
  readonly credentialFrom?: (config: RunnableConfig | undefined) => CredentialSource | undefined;
}

/** The default per-run lookup: `context.agentToken`, then `configurable.agentToken`. */
export function credentialFromConfig(
  config: RunnableConfig | undefined,
): CredentialSource | undefined {
  const withContext = config as
    | (RunnableConfig & { context?: { agentToken?: unknown } })
    | undefined;
  const fromContext = withContext?.context?.agentToken;
  const fromConfigurable = config?.configurable?.agentToken as unknown;
  const found = fromContext ?? fromConfigurable;
  return typeof found === "string" || isProvider(found) ? found : undefined;
}

/** Resolves the credential for one call: the bound one, else the per-run one. */
export function resolveCredential(
  options: CredentialOptions,
  config: RunnableConfig | undefined,
): CredentialSource | undefined {
  return options.credential ?? (options.credentialFrom ?? credentialFromConfig)(config);
}

/** The gate's view of a LangChain tool. */
export function describeTool(
  tool: Pick<StructuredToolInterface, "name" | "description" | "schema"> & {
    metadata?: Record<string, unknown>;
  },
  policy: ToolPolicy | undefined,
): ToolDescriptor {
  const declared = (policy ?? tool.metadata?.agentgate) as ToolPolicy | undefined;
  const schema = tool.schema as unknown;
  return {
    name: tool.name,
    description: tool.description,
    ...(isStandardSchema(schema) ? { schema } : {}),
    ...(declared?.action === undefined ? {} : { action: declared.action }),
    ...(declared?.resources === undefined ? {} : { resources: declared.resources }),
    ...(declared?.server === undefined ? {} : { server: declared.server }),
  };
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return typeof value === "object" && value !== null && "~standard" in value;
}

function isProvider(value: unknown): value is { token(): Promise<string> } {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { token?: unknown }).token === "function"
  );
}
