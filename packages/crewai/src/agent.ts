import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { CrewTool } from "./crew-tool.js";

/** What defines a crew agent. */
export interface AgentOptions {
  /** How coworkers address it, e.g. `Researcher`. */
  readonly role: string;
  /** What it works towards; part of its system prompt. */
  readonly goal: string;
  /** Who it is, for its system prompt. Default empty. */
  readonly backstory?: string;
  /** Its tools; every call runs through the crew's gate under this agent's identity. */
  readonly tools?: readonly CrewTool[];
  /** Give it the "delegate work" and "ask a question" tools over its coworkers. */
  readonly allowDelegation?: boolean;
  /** Any LangChain chat model with tool calling (`bindTools`). */
  readonly llm: BaseChatModel;
  /** Its AgentGate identity: a registered agent id. The crew holds its credentials, never the agent. */
  readonly identity: string;
  /** Model turns per task before it must answer. Default 8. */
  readonly maxIterations?: number;
}

/**
 * A crew agent: a role, a goal, tools and a model, and one AgentGate identity of its own. It
 * never holds a token: the crew issues its credentials and runs its tool calls through the gate,
 * so no agent can act under another's identity (SECURITY.md F51).
 */
export class Agent {
  readonly role: string;
  readonly goal: string;
  readonly backstory: string;
  readonly tools: readonly CrewTool[];
  readonly allowDelegation: boolean;
  readonly llm: BaseChatModel;
  readonly identity: string;
  readonly maxIterations: number;

  constructor(options: AgentOptions) {
    this.role = options.role;
    this.goal = options.goal;
    this.backstory = options.backstory ?? "";
    this.tools = options.tools ?? [];
    this.allowDelegation = options.allowDelegation ?? false;
    this.llm = options.llm;
    this.identity = options.identity;
    this.maxIterations = options.maxIterations ?? 8;
  }
}

/** What defines a task. */
export interface TaskOptions {
  /** What to do, as the agent is told it. */
  readonly description: string;
  /** What a finished answer looks like. */
  readonly expectedOutput: string;
  /** Who does it; in a hierarchical crew the manager decides when absent. */
  readonly agent?: Agent;
  /** Tasks whose outputs this one reads. Default: the previous task (sequential crews). */
  readonly context?: readonly Task[];
}

/** A unit of work for a crew. */
export class Task {
  readonly description: string;
  readonly expectedOutput: string;
  readonly agent: Agent | undefined;
  readonly context: readonly Task[] | undefined;
  /** Set when the task is done. */
  output: string | undefined;

  constructor(options: TaskOptions) {
    this.description = options.description;
    this.expectedOutput = options.expectedOutput;
    this.agent = options.agent;
    this.context = options.context;
  }
}
