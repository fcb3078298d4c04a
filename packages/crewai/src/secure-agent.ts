import {
  type ActionKind,
  type CredentialSource,
  type Gate,
  isAgentGateError,
  type StandardSchemaV1,
} from "@agentgate/core";

/** A tool of a CrewAI-shaped agent from other code: a name, a schema and a `run` or `invoke`. */
export interface ToolLike {
  readonly name: string;
  readonly description?: string;
  readonly argsSchema?: unknown;
  readonly schema?: unknown;
  readonly action?: ActionKind;
  readonly resources?: Readonly<Record<string, string>>;
  run?(args: never, ...rest: never[]): unknown;
  invoke?(args: never, ...rest: never[]): unknown;
}

/** Options of {@link secureCrewAgent}. */
export interface SecureCrewAgentOptions {
  /** The gate the agent's tool calls go through. */
  readonly gate: Gate;
  /** This agent's own credential (a `CredentialProvider` for its identity). */
  readonly credential: CredentialSource;
  /** What a denied call returns to the agent instead of throwing. Default: a blocked-tool message. */
  readonly onDenied?: "message" | "throw";
}

/**
 * Wraps the tools of any CrewAI-shaped agent (`{ role, tools }`) so that every call goes through
 * `gate.invoke` under this agent's credential: for teams with their own CrewAI-style code.
 * Returns a copy; the original tools stay untouched but are no longer reachable from it.
 */
export function secureCrewAgent<A extends { role: string; tools: readonly ToolLike[] }>(
  agent: A,
  options: SecureCrewAgentOptions,
): A {
  const tools = agent.tools.map((original) => {
    const schema = [original.argsSchema, original.schema].find(
      (candidate): candidate is StandardSchemaV1 =>
        typeof candidate === "object" && candidate !== null && "~standard" in candidate,
    );
    const descriptor = {
      name: original.name,
      ...(original.description === undefined ? {} : { description: original.description }),
      ...(schema === undefined ? {} : { schema }),
      action: original.action ?? "execute",
      ...(original.resources === undefined ? {} : { resources: original.resources }),
    };
    const body = (original.run ?? original.invoke)?.bind(original) as
      | ((args: unknown, ...rest: unknown[]) => unknown)
      | undefined;
    const guarded = async (args: unknown, ...rest: unknown[]) => {
      try {
        return await options.gate.invoke(
          {
            tool: descriptor,
            arguments: args,
            credential: options.credential,
            metadata: { framework: "crew" },
          },
          (validArgs) => body?.(validArgs, ...rest),
        );
      } catch (error) {
        if (isAgentGateError(error) && options.onDenied !== "throw") {
          return `Tool execution blocked by AgentGate. Tool: ${original.name}. Reason: ${error.safeMessage}`;
        }
        throw error;
      }
    };
    return {
      ...original,
      ...(original.run ? { run: guarded } : {}),
      ...(original.invoke ? { invoke: guarded } : {}),
    };
  });
  return { ...agent, tools };
}
