/**
 * `@agentgate/crewai`: CrewAI-style crews (agents with roles, goals and zod tools; tasks; a crew
 * run sequentially or by a manager) where every agent has its own AgentGate identity, every tool
 * call goes through the gate, and delegation between agents is always an attenuated token.
 */
export { Agent, type AgentOptions, Task, type TaskOptions } from "./agent.js";
export { Crew, type CrewOptions, type CrewOutput, type KickoffOptions } from "./crew.js";
export {
  type CrewTool,
  type CrewToolContext,
  crewTool,
  descriptorOf,
  toLangChainTool,
} from "./crew-tool.js";
export { type SecureCrewAgentOptions, secureCrewAgent, type ToolLike } from "./secure-agent.js";
