import {
  AgentGateError,
  type CheckResult,
  type CredentialSource,
  type Gate,
  type ToolDescriptor,
} from "@agentgate/core";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import { describeTool, type ToolPolicy } from "./tool-policy.js";

/** Options of {@link AgentGateCallbackHandler}. */
export interface AgentGateCallbackHandlerOptions {
  /** The gate that checks each tool call the handler sees. */
  readonly gate: Gate;
  /**
   * The agent's credential. Bound here rather than read from run metadata, because metadata is
   * sent to tracers and would leak the token (SECURITY.md I69).
   */
  readonly credential: CredentialSource;
  /**
   * `observe` (default): each tool start is decided and audited as a `check` ("would this be
   * allowed?"), each end or error as an `outcome`; nothing is blocked, callbacks run in the
   * background. `enforce`: the handler is awaited and raises, so a denied call throws before the
   * tool body runs. Best effort: see the README for what it cannot guarantee.
   */
  readonly mode?: "observe" | "enforce";
  /** Policy mapping per tool name. */
  readonly tools?: Readonly<Record<string, ToolPolicy>>;
}

interface RunState {
  readonly check: CheckResult;
  readonly tool: ToolDescriptor;
  readonly started: number;
}

/**
 * A LangChain callback handler for agents that cannot be re-wrapped (older AgentExecutor code,
 * LangGraph graphs built elsewhere). It sees every tool start, end and error with the tool's
 * input, and audits them through the gate.
 *
 * What it cannot guarantee, in either mode: LangChain runs callbacks only for tools invoked
 * through `invoke`/`call` with callbacks configured; a tool function called directly, a tool
 * invoked without the handler in its config, or a tool blocked earlier by middleware never
 * reaches it. Prefer `protectTool` or `agentGateMiddleware` for enforcement.
 */
export class AgentGateCallbackHandler extends BaseCallbackHandler {
  readonly name = "AgentGateCallbackHandler";
  readonly #options: AgentGateCallbackHandlerOptions;
  readonly #runs = new Map<string, RunState>();

  /** Tool runs started and not yet ended (for leak checks). */
  get pendingRuns(): number {
    return this.#runs.size;
  }

  constructor(options: AgentGateCallbackHandlerOptions) {
    const enforce = options.mode === "enforce";
    super({ raiseError: enforce, _awaitHandler: enforce });
    this.#options = options;
  }

  override async handleToolStart(
    tool: Serialized,
    input: string,
    runId: string,
    _parentRunId?: string,
    _tags?: string[],
    _metadata?: Record<string, unknown>,
    runName?: string,
    toolCallId?: string,
  ): Promise<void> {
    const name = runName ?? String(tool.id.at(-1) ?? "tool");
    const descriptor = describeTool(
      { name, description: "", schema: undefined as never },
      this.#options.tools?.[name],
    );
    const check = await this.#options.gate.check({
      tool: descriptor,
      arguments: parseInput(input),
      credential: this.#options.credential,
      metadata: {
        framework: "langchain",
        runId,
        ...(toolCallId === undefined ? {} : { toolCallId }),
      },
    });
    if (this.#options.mode === "enforce" && !check.allowed) {
      // No end or error callback follows a start that raised: nothing to keep for this run.
      throw new AgentGateError(check.code ?? "access_denied", `Tool ${name} denied by AgentGate.`, {
        safeMessage: check.safeReason,
      });
    }
    this.#runs.set(runId, { check, tool: descriptor, started: Date.now() });
  }

  override async handleToolEnd(_output: unknown, runId: string): Promise<void> {
    await this.#finish(runId, undefined);
  }

  override async handleToolError(error: Error, runId: string): Promise<void> {
    await this.#finish(runId, error);
  }

  async #finish(runId: string, error: Error | undefined): Promise<void> {
    const run = this.#runs.get(runId);
    if (run === undefined) return;
    this.#runs.delete(runId);
    await this.#options.gate.recordOutcome(run.check, run.tool, {
      status: error === undefined ? "succeeded" : "failed",
      durationMs: Date.now() - run.started,
      ...(error === undefined ? {} : { error }),
    });
  }
}

/** Tool input arrives as a JSON string; anything else is passed as `{ input }`. */
function parseInput(input: string): unknown {
  try {
    const parsed: unknown = JSON.parse(input);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? parsed
      : { input: parsed };
  } catch {
    return { input };
  }
}
