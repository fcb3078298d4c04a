import {
  AgentGateError,
  CredentialProvider,
  type CredentialSource,
  currentAgent,
  type Gate,
  isAgentGateError,
} from "@agentgate/core";
import {
  AIMessage,
  type BaseMessage,
  HumanMessage,
  SystemMessage,
  ToolMessage,
} from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import * as z from "zod";
import type { Agent, Task } from "./agent.js";
import { type CrewTool, descriptorOf, stringify } from "./crew-tool.js";

/** What defines a crew. */
export interface CrewOptions {
  /** The crew's members, each with its own identity. */
  readonly agents: readonly Agent[];
  /** The work, in order. */
  readonly tasks: readonly Task[];
  /** `sequential` (default): each task by its agent, in order. `hierarchical`: a manager delegates. */
  readonly process?: "sequential" | "hierarchical";
  /** The manager of a hierarchical crew: an agent with an identity of its own. */
  readonly manager?: Agent;
  /** The gate every tool call goes through; it needs its `authority` to issue and delegate. */
  readonly gate: Gate;
  /** The audience of the crew's tokens: the gate's audience. */
  readonly audience: string;
}

/** Options of {@link Crew.kickoff}. */
export interface KickoffOptions {
  /** The human the crew works for: tokens then say `sub` = this user, `act` = the agent. */
  readonly principal?: string;
}

/** What a crew produced. */
export interface CrewOutput {
  /** The last task's output. */
  readonly output: string;
  readonly tasks: ReadonlyArray<{
    readonly description: string;
    readonly agent: string;
    readonly output: string;
  }>;
}

const DELEGATE = "delegate_work_to_coworker";
const ASK = "ask_question_to_coworker";

/**
 * A CrewAI-style crew with identity built in. Every tool call of every agent goes through
 * `gate.invoke` under that agent's own credentials, which the crew issues and never hands to an
 * agent or a tool (SECURITY.md F51). "Delegate work to coworker" and "Ask question to
 * coworker" mint an attenuated token for the coworker (`gate.delegate`): the coworker acts with
 * `act` naming the delegator and the human the crew runs for, with scopes no wider than the
 * delegator's (B19, B25), and the audit log shows the whole chain.
 *
 * @example
 * ```ts
 * const crew = new Crew({ agents: [researcher, writer], tasks: [research, report], gate, audience });
 * const { output } = await crew.kickoff({ topic: "agent identity" }, { principal: "user:carol@acme.example" });
 * ```
 */
export class Crew {
  readonly #options: CrewOptions;

  constructor(options: CrewOptions) {
    if (options.gate.authority === undefined) {
      throw new AgentGateError(
        "invalid_configuration",
        "A crew needs a gate with an authority to issue and delegate tokens.",
      );
    }
    if (options.process === "hierarchical" && options.manager === undefined) {
      throw new AgentGateError(
        "invalid_configuration",
        "A hierarchical crew needs a manager agent.",
      );
    }
    this.#options = options;
  }

  /** Runs every task and returns the outputs. `{key}` in task descriptions is replaced from `inputs`. */
  async kickoff(
    inputs: Readonly<Record<string, string>> = {},
    options: KickoffOptions = {},
  ): Promise<CrewOutput> {
    const credentials = new Map<Agent, CredentialProvider>();
    const credentialOf = (agent: Agent) => {
      let credential = credentials.get(agent);
      if (credential === undefined) {
        const authority = this.#options.gate.authority;
        const issueOptions = {
          audience: this.#options.audience,
          ...(options.principal === undefined ? {} : { principal: options.principal }),
        };
        credential = new CredentialProvider({
          issue: () =>
            (authority as NonNullable<typeof authority>).issueToken(agent.identity, issueOptions),
        });
        credentials.set(agent, credential);
      }
      return credential;
    };
    const done: Array<{ description: string; agent: string; output: string }> = [];
    let previous: string | undefined;
    for (const task of this.#options.tasks) {
      const description = task.description.replace(
        /\{(\w+)\}/g,
        (whole, key: string) => inputs[key] ?? whole,
      );
      const context = (
        task.context?.map((earlier) => earlier.output ?? "") ??
        (previous === undefined ? [] : [previous])
      ).filter(Boolean);
      const prompt = `${description}\n\nExpected output: ${task.expectedOutput}${context.length > 0 ? `\n\nContext:\n${context.join("\n---\n")}` : ""}`;
      const worker =
        this.#options.process === "hierarchical"
          ? (this.#options.manager as Agent)
          : (task.agent ?? this.#options.agents[0]);
      if (worker === undefined)
        throw new AgentGateError("invalid_configuration", "The crew has no agent for a task.");
      const output = await this.#execute(worker, prompt, credentialOf(worker));
      task.output = output;
      previous = output;
      done.push({ description, agent: worker.role, output });
    }
    return { output: previous ?? "", tasks: done };
  }

  /** One agent works on one prompt: a bounded tool-calling loop, every tool call gated. */
  async #execute(agent: Agent, prompt: string, credential: CredentialSource): Promise<string> {
    const tools = [...agent.tools, ...this.#delegationTools(agent)];
    const specs = tools.map((entry) =>
      tool(async () => "", {
        name: entry.name,
        description: entry.description,
        schema: entry.argsSchema,
      }),
    );
    if (agent.llm.bindTools === undefined)
      throw new AgentGateError(
        "invalid_configuration",
        `The model of ${agent.role} cannot call tools.`,
      );
    const model = agent.llm.bindTools(specs);
    const messages: BaseMessage[] = [
      new SystemMessage(
        `You are ${agent.role}. Your goal: ${agent.goal}. ${agent.backstory}`.trim(),
      ),
      new HumanMessage(prompt),
    ];
    for (let turn = 0; turn < agent.maxIterations; turn++) {
      const reply = await model.invoke(messages);
      messages.push(reply);
      const calls = AIMessage.isInstance(reply) ? (reply.tool_calls ?? []) : [];
      if (calls.length === 0) return stringify(reply.content);
      for (const call of calls) {
        const chosen = tools.find((entry) => entry.name === call.name);
        const content =
          chosen === undefined
            ? await this.#refuseUnknown(call.name, call.args, credential)
            : await this.#run(chosen, call.args, credential);
        messages.push(new ToolMessage({ content, tool_call_id: call.id ?? "", name: call.name }));
      }
    }
    return `${agent.role} stopped after ${agent.maxIterations} turns without a final answer.`;
  }

  /** A tool call through the gate; a denial is told to the model and the crew goes on. */
  async #run(chosen: CrewTool, args: unknown, credential: CredentialSource): Promise<string> {
    try {
      return stringify(
        await this.#options.gate.invoke(
          {
            tool: descriptorOf(chosen),
            arguments: args,
            credential,
            metadata: { framework: "crew" },
          },
          (validArgs) => chosen.run(validArgs as never, { agent: currentAgent() }),
        ),
      );
    } catch (error) {
      if (isAgentGateError(error))
        return `Tool execution blocked by AgentGate. Tool: ${chosen.name}. Reason: ${error.safeMessage}`;
      return `Error executing tool ${chosen.name}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** A tool name the agent does not have: an audited denial through the gate (K85), told to the model. */
  async #refuseUnknown(name: string, args: unknown, credential: CredentialSource): Promise<string> {
    const shown = name.slice(0, 256);
    await this.#options.gate.refuse(
      {
        tool: { name: shown, action: "execute" },
        arguments: args,
        credential,
        metadata: { framework: "crew" },
      },
      new AgentGateError("access_denied", `Unknown tool ${shown}.`, {
        safeMessage: "No such tool.",
      }),
    );
    return `Unknown tool ${shown}.`;
  }

  /** The delegation tools of an agent that may delegate (the manager always may). */
  #delegationTools(agent: Agent): CrewTool[] {
    const manager = this.#options.process === "hierarchical" && agent === this.#options.manager;
    if (!agent.allowDelegation && !manager) return [];
    const coworkers = this.#options.agents.filter((candidate) => candidate !== agent);
    const roles = coworkers.map((coworker) => coworker.role).join(", ");
    const handOff = async (coworkerRole: string, prompt: string) => {
      const coworker = coworkers.find(
        (candidate) => candidate.role.trim().toLowerCase() === coworkerRole.trim().toLowerCase(),
      );
      if (coworker === undefined)
        return `No coworker named "${coworkerRole}". Coworkers: ${roles}.`;
      // Inside this gated call, the current agent is the delegator: the coworker gets an
      // attenuated token whose chain names it (RFC 8693 act), never the delegator's own.
      const delegated = await this.#options.gate.delegate({
        to: coworker.identity,
        audience: this.#options.audience,
      });
      return this.#execute(coworker, prompt, delegated.token);
    };
    return [
      {
        name: DELEGATE,
        description: `Delegate a task to a coworker (${roles}). Give the task, all the context it needs, and the coworker's role.`,
        argsSchema: z.object({ task: z.string(), context: z.string(), coworker: z.string() }),
        action: "delegate",
        run: ({ task, context, coworker }: { task: string; context: string; coworker: string }) =>
          handOff(coworker, `${task}\n\nContext: ${context}`),
      } as CrewTool,
      {
        name: ASK,
        description: `Ask a coworker (${roles}) a question. Give the question, all the context it needs, and the coworker's role.`,
        argsSchema: z.object({ question: z.string(), context: z.string(), coworker: z.string() }),
        action: "delegate",
        run: ({
          question,
          context,
          coworker,
        }: {
          question: string;
          context: string;
          coworker: string;
        }) => handOff(coworker, `${question}\n\nContext: ${context}`),
      } as CrewTool,
    ];
  }
}
