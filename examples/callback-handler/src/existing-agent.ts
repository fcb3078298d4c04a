// An agent built elsewhere, as many teams have one: its own tools, its own model, no AgentGate
// inside. The starter never edits this file; it only passes a callback handler to `invoke`.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { tool } from "@langchain/core/tools";
import { createAgent } from "langchain";
import * as z from "zod";

/** What the tools really did, so the starter can check that a blocked call never ran. */
export const sideEffects: string[] = [];

export function buildResearchAgent(model: BaseChatModel) {
  const webSearch = tool(
    async ({ query }) => {
      sideEffects.push(`web_search ${query}`);
      return `3 results for "${query}"`;
    },
    { name: "web_search", description: "Search the web", schema: z.object({ query: z.string() }) },
  );
  const sendEmail = tool(
    async ({ to, subject }) => {
      sideEffects.push(`send_email ${to}`);
      return `sent "${subject}" to ${to}`;
    },
    {
      name: "send_email",
      description: "Send an email",
      schema: z.object({ to: z.string(), subject: z.string(), body: z.string() }),
    },
  );
  return createAgent({ model, tools: [webSearch, sendEmail] });
}
