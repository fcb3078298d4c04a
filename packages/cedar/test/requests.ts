import type { AccessRequest } from "@agentgate/core";
import { accessTime } from "@agentgate/core/internal";

export const SUPPORT = "spiffe://acme.example/agent/support";
export const OPS = "spiffe://acme.example/agent/ops";
/** Monday 5 January 2026, 10:00 in Berlin. */
export const MONDAY_10_BERLIN = Date.parse("2026-01-05T09:00:00Z");

/** An AccessRequest as the gate builds it (subject from verified identity and the registry). */
export function request(options: {
  agent?: string;
  action?: string;
  tool?: string;
  server?: string;
  customer?: string;
  args?: Record<string, unknown>;
  at?: number;
  timeZone?: string;
  scopes?: string[];
  labels?: Record<string, string>;
}): AccessRequest {
  const agent = options.agent ?? SUPPORT;
  const tool = options.tool ?? "crm_lookup";
  return {
    subject: {
      type: "agent",
      id: agent,
      properties: {
        owner: "alice@acme.example",
        supervision: "autonomous",
        labels: options.labels ?? {},
        scopes: options.scopes ?? ["crm:read"],
        principal: agent,
        principalType: "agent",
        chain: [agent],
        delegated: false,
      },
    },
    action: {
      name: options.action ?? "read",
      properties: { tool, ...(options.server ? { server: options.server } : {}) },
    },
    resource: {
      type: "tool",
      id: options.server ? `${options.server}/${tool}` : tool,
      properties: {},
    },
    context: {
      time: accessTime(options.at ?? MONDAY_10_BERLIN, options.timeZone ?? "Europe/Berlin"),
      environment: "test",
      resources: options.customer === undefined ? {} : { customer: options.customer },
      ...(options.args === undefined ? {} : { arguments: options.args }),
    },
  };
}
