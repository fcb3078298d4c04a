import { createHash, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { AUDIT_SCHEMA_VERSION, type AuditSink } from "@agentgate/core";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";

/** A tool's fingerprint: SHA-256 over its name, description and input schema. */
export function toolFingerprint(tool: Pick<Tool, "name" | "description" | "inputSchema">): string {
  return createHash("sha256")
    .update(JSON.stringify([tool.name, tool.description ?? "", tool.inputSchema ?? {}]))
    .digest("hex");
}

/**
 * Approved tool fingerprints per server, in memory or in a JSON file. The first time a tool is
 * seen it is pinned (approved); a later, different fingerprint is a change.
 */
export class ToolPins {
  readonly #pins: Map<string, string>;

  constructor(private readonly path?: string) {
    let stored: Record<string, string> = {};
    if (path !== undefined) {
      try {
        stored = JSON.parse(readFileSync(path, "utf8")) as Record<string, string>;
      } catch {
        stored = {};
      }
    }
    this.#pins = new Map(Object.entries(stored));
  }

  /** `new` (now pinned), `same`, or `changed` (the pin is kept). */
  check(
    serverId: string,
    tool: Pick<Tool, "name" | "description" | "inputSchema">,
  ): "new" | "same" | "changed" {
    const key = `${serverId}/${tool.name}`;
    const fingerprint = toolFingerprint(tool);
    const pinned = this.#pins.get(key);
    if (pinned === undefined) {
      this.#pins.set(key, fingerprint);
      if (this.path !== undefined)
        writeFileSync(this.path, JSON.stringify(Object.fromEntries(this.#pins), null, 2), {
          mode: 0o600,
        });
      return "new";
    }
    return pinned === fingerprint ? "same" : "changed";
  }
}

/** Options of {@link pinTools}. */
export interface PinToolsOptions {
  /** The server's identity, as in policy and audit. */
  readonly serverId: string;
  /** Where approved tool definitions are kept. */
  readonly pins: ToolPins;
  /** Where `tool_changed` events go. */
  readonly audit?: AuditSink;
  /** Hide and refuse a changed tool (default `true`); `false` only records the change. */
  readonly enforce?: boolean;
}

/**
 * Guards a client against rug pulls (SECURITY.md F50): every tool listed is compared with the
 * fingerprint approved when it was first seen; a tool whose description or schema changed is
 * recorded as a `tool_changed` audit event and, when enforcing, removed from the list and
 * refused on call.
 */
export function pinTools<C extends Pick<Client, "listTools" | "callTool">>(
  client: C,
  options: PinToolsOptions,
): C {
  const blocked = new Set<string>();
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "listTools") {
        return async (...args: unknown[]) => {
          const result = await (
            target.listTools as (...a: unknown[]) => ReturnType<Client["listTools"]>
          )(...args);
          const kept = [];
          for (const tool of result.tools) {
            if (options.pins.check(options.serverId, tool) !== "changed") {
              kept.push(tool);
              continue;
            }
            await options.audit?.write({
              v: AUDIT_SCHEMA_VERSION,
              id: randomUUID(),
              type: "tool_changed",
              time: new Date().toISOString(),
              tool: { name: tool.name, server: options.serverId },
              details: { fingerprint: toolFingerprint(tool), enforced: options.enforce !== false },
            });
            if (options.enforce === false) kept.push(tool);
            else blocked.add(tool.name);
          }
          return { ...result, tools: kept };
        };
      }
      if (property === "callTool") {
        return async (params: { name: string }, ...rest: unknown[]) => {
          if (blocked.has(params.name)) {
            return {
              isError: true,
              content: [
                {
                  type: "text",
                  text: `Tool ${params.name} changed since it was approved; it is blocked.`,
                },
              ],
            };
          }
          return (target.callTool as (...a: unknown[]) => unknown)(params, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
