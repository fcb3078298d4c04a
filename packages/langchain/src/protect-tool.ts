import {
  AgentGateError,
  checkToolNames,
  type Gate,
  isAgentGateError,
  isApprovalSuspended,
} from "@agentgate/core";
import type { CallbackManagerForToolRun } from "@langchain/core/callbacks/manager";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  DynamicStructuredTool,
  StructuredTool,
  type StructuredToolInterface,
  ToolInputParsingException,
  type ToolRunnableConfig,
} from "@langchain/core/tools";
import { denialMessage } from "./denial.js";
import {
  type CredentialOptions,
  describeTool,
  resolveCredential,
  type ToolPolicy,
} from "./tool-policy.js";

const PROTECTED = Symbol.for("agentgate.langchain.protected");

/** Options of {@link protectTool}. */
export interface ProtectToolOptions extends CredentialOptions {
  /** The gate the tool's calls go through. */
  readonly gate: Gate;
  /** The tool's action kind and resources (else `tool.metadata.agentgate`, else `execute`). */
  readonly policy?: ToolPolicy;
  /**
   * What a denied call produces. Default `auto`: an error `ToolMessage` when the tool was called
   * with a tool call (inside an agent), a thrown `AgentGateError` when called directly.
   */
  readonly onDenied?: "auto" | "throw";
}

/** Options of {@link protectTools}: like {@link ProtectToolOptions}, with a policy per tool name. */
export interface ProtectToolsOptions extends Omit<ProtectToolOptions, "policy"> {
  /** Policy mapping per tool name; tools not named get the defaults. */
  readonly policies?: Readonly<Record<string, ToolPolicy>>;
}

/** True when `tool` was returned by {@link protectTool}. */
export function isProtectedTool(tool: unknown): boolean {
  return typeof tool === "object" && tool !== null && PROTECTED in tool;
}

/**
 * Returns a tool with the same name, description and schema (so `bindTools` and tool-calling
 * models see no difference) whose every invocation goes through `gate.invoke`: verified
 * identity, argument validation, policy, approval, audit. The original tool is reachable only
 * through the gate: `invoke`, `call` and `func` of the returned tool are all gated
 * (SECURITY.md F46). Protecting a protected tool returns it unchanged (no double audit).
 * Throws `invalid_configuration` when the tool's name or server is not canonical (see
 * `parseToolName` in `@agentgate/core`: lowercase ASCII, SECURITY.md L88).
 *
 * @example
 * ```ts
 * const lookup = protectTool(crmLookup, { gate, credential, policy: { action: "read", resources: { customer: "customerId" } } });
 * const agent = createAgent({ model, tools: [lookup] });
 * ```
 */
export function protectTool<T extends StructuredToolInterface>(
  tool: T,
  options: ProtectToolOptions,
): StructuredToolInterface {
  if (isProtectedTool(tool)) return tool;
  const descriptor = describeTool(tool, options.policy);
  // A name policy cannot tell from another is refused here, not at the first call (L88).
  checkToolNames(descriptor, "declared");
  const gated = async (
    args: unknown,
    runManager?: CallbackManagerForToolRun,
    config?: RunnableConfig,
  ) => {
    const toolConfig = config as ToolRunnableConfig | undefined;
    const toolCallId = toolConfig?.toolCall?.id;
    try {
      // No credential is the gate's denial to record (K85), not ours to throw.
      return await options.gate.invoke(
        {
          tool: descriptor,
          arguments: args,
          credential: resolveCredential(options, config),
          metadata: {
            framework: "langchain",
            ...(toolCallId === undefined ? {} : { toolCallId }),
            ...(config?.runId === undefined ? {} : { runId: String(config.runId) }),
          },
          ...(config?.signal === undefined ? {} : { signal: config.signal }),
        },
        (validArgs) => callInner(tool, { ...validArgs }, runManager, config),
      );
    } catch (error) {
      if (isApprovalSuspended(error)) throw error.cause;
      if (isAgentGateError(error) && toolCallId !== undefined && options.onDenied !== "throw") {
        return denialMessage(error, toolCallId, tool.name);
      }
      throw error;
    }
  };
  const source = tool as unknown as {
    responseFormat?: "content" | "content_and_artifact";
    returnDirect?: boolean;
    metadata?: Record<string, unknown>;
  };
  const wrapped = new GatedTool({
    name: tool.name,
    description: tool.description,
    schema: tool.schema as never,
    func: gated as never,
    ...(source.responseFormat === undefined ? {} : { responseFormat: source.responseFormat }),
    ...(source.returnDirect === undefined ? {} : { returnDirect: source.returnDirect }),
    metadata: {
      ...source.metadata,
      agentgate: { ...descriptorPolicy(descriptor), protected: true },
    },
  });
  Object.defineProperty(wrapped, PROTECTED, { value: true });
  wrapped.refuse = async (raw, error, config) => {
    const toolCallId = config?.toolCall?.id;
    const denial = await options.gate.refuse(
      {
        tool: descriptor,
        arguments: raw,
        credential: resolveCredential(options, config),
        metadata: { framework: "langchain", ...(toolCallId === undefined ? {} : { toolCallId }) },
      },
      new AgentGateError(
        "invalid_arguments",
        `Invalid arguments: ${error.message}`.slice(0, 1000),
        {
          safeMessage: "The tool arguments are not valid.",
        },
      ),
    );
    if (toolCallId !== undefined && options.onDenied !== "throw")
      return denialMessage(denial, toolCallId, tool.name);
    throw denial;
  };
  return wrapped;
}

/**
 * The protected tool. LangChain checks arguments against the schema before the tool's function
 * runs, so a bad call would be refused without the gate ever hearing of it: that refusal is
 * recorded through the gate as an `invalid_arguments` denial instead (SECURITY.md K85).
 */
class GatedTool extends DynamicStructuredTool {
  refuse:
    | ((raw: unknown, error: Error, config: ToolRunnableConfig | undefined) => Promise<unknown>)
    | undefined;

  override async call(
    arg: unknown,
    configArg?: Parameters<DynamicStructuredTool["call"]>[1],
    tags?: string[],
  ): Promise<never> {
    try {
      return (await super.call(arg as never, configArg, tags)) as never;
    } catch (error) {
      if (!(error instanceof ToolInputParsingException) || this.refuse === undefined) throw error;
      const config = (
        typeof configArg === "object" && !Array.isArray(configArg) ? configArg : undefined
      ) as ToolRunnableConfig | undefined;
      const toolCall = _isToolCallLike(arg) ? arg : undefined;
      const raw = toolCall === undefined ? arg : toolCall.args;
      return (await this.refuse(
        raw,
        error,
        toolCall === undefined ? config : { ...config, toolCall: toolCall as never },
      )) as never;
    }
  }
}

function _isToolCallLike(value: unknown): value is { args: unknown; id?: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { type?: unknown }).type === "tool_call" &&
    "args" in value
  );
}

/**
 * Runs the wrapped tool's body with arguments the gate already validated. For `StructuredTool`s
 * (all of `tool()`, `DynamicStructuredTool` and subclasses) that is `_call`, as LangChain's own
 * `call` does after parsing: the outer tool has already parsed the input and reported to the
 * callbacks, so a second `invoke` would only repeat that work. Other tools get `invoke`.
 */
async function callInner(
  tool: StructuredToolInterface,
  args: Record<string, unknown>,
  runManager: CallbackManagerForToolRun | undefined,
  config: RunnableConfig | undefined,
): Promise<unknown> {
  if (!(tool instanceof StructuredTool)) {
    return tool.invoke(args, { ...config, callbacks: runManager?.getChild() });
  }
  const body = (
    tool as unknown as {
      _call(arg: unknown, runManager?: CallbackManagerForToolRun, config?: RunnableConfig): unknown;
    }
  )._call(args, runManager, config);
  const result = await body;
  if (typeof result === "object" && result !== null && Symbol.asyncIterator in result) {
    // A streaming tool body: its return value is the output.
    const generator = result as AsyncGenerator<unknown, unknown>;
    for (;;) {
      const step = await generator.next();
      if (step.done === true) return step.value;
    }
  }
  return result;
}

/** {@link protectTool} for several tools, with a policy per tool name. */
export function protectTools(
  tools: readonly StructuredToolInterface[],
  options: ProtectToolsOptions,
): StructuredToolInterface[] {
  return tools.map((tool) => {
    const policy = options.policies?.[tool.name];
    return protectTool(tool, { ...options, ...(policy === undefined ? {} : { policy }) });
  });
}

function descriptorPolicy(descriptor: ReturnType<typeof describeTool>): ToolPolicy {
  return {
    ...(descriptor.action === undefined ? {} : { action: descriptor.action }),
    ...(descriptor.resources === undefined ? {} : { resources: descriptor.resources }),
    ...(descriptor.server === undefined ? {} : { server: descriptor.server }),
  };
}
