import {
  type ActionKind,
  checkToolNames,
  type ToolDescriptor,
  type VerifiedAgent,
} from "@agentgate/core";
import { tool } from "@langchain/core/tools";
import type * as z from "zod";

/** What a crew tool's `run` learns about its call. */
export interface CrewToolContext {
  /** The verified identity the call runs under (the acting agent, its principal and chain). */
  readonly agent: VerifiedAgent;
}

/** A tool a crew agent can use: zod arguments, a policy mapping, and its body. */
export interface CrewTool<Schema extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly description: string;
  readonly argsSchema: Schema;
  /** The action kind policies see. Default `execute`. */
  readonly action?: ActionKind;
  /** Resource type → argument path, e.g. `{ customer: "customerId" }`. */
  readonly resources?: Readonly<Record<string, string>>;
  run(args: z.output<Schema>, context: CrewToolContext): unknown;
}

/**
 * Defines a crew tool. Arguments are validated against `argsSchema` by the gate before any
 * policy runs (SECURITY.md G52). Throws `invalid_configuration` when `name` is not a
 * canonical tool name (lowercase ASCII, see `parseToolName`; SECURITY.md L88).
 *
 * @example
 * ```ts
 * const search = crewTool({ name: "web_search", description: "Search the web", action: "read",
 *   argsSchema: z.object({ query: z.string() }), run: async ({ query }) => searchIndex(query) });
 * ```
 */
export function crewTool<Schema extends z.ZodObject>(
  definition: CrewTool<Schema>,
): CrewTool<Schema> {
  checkToolNames(definition, "declared");
  return definition;
}

/** The gate's view of a crew tool. */
export function descriptorOf(crew: CrewTool): ToolDescriptor {
  return {
    name: crew.name,
    description: crew.description,
    schema: crew.argsSchema,
    action: crew.action ?? "execute",
    ...(crew.resources === undefined ? {} : { resources: crew.resources }),
  };
}

/**
 * The same tool as a LangChain tool, carrying its policy mapping in `metadata.agentgate`, so
 * `protectTool` and `agentGateMiddleware` from `@agentgate/langchain` enforce it unchanged.
 */
export function toLangChainTool(crew: CrewTool) {
  return tool(
    async (args: Record<string, unknown>, runtime: { context?: unknown }) =>
      stringify(
        await crew.run(args as never, {
          agent: (runtime.context as { agent?: VerifiedAgent } | undefined)?.agent as VerifiedAgent,
        }),
      ),
    {
      name: crew.name,
      description: crew.description,
      schema: crew.argsSchema,
      metadata: {
        agentgate: {
          action: crew.action ?? "execute",
          ...(crew.resources === undefined ? {} : { resources: crew.resources }),
        },
      },
    },
  );
}

/** Tool output as text for the model. */
export function stringify(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
