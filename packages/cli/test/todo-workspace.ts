import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CedarPolicyClient } from "@agentgate/cedar";
import { MemoryAuditSink } from "@agentgate/core";
import { createApp, type RouteModule } from "../src/server/app.js";
import { openWorkspace } from "../src/workspace.js";

const EXAMPLE = fileURLToPath(
  new URL("../../../examples/authzen-todo/.agentgate", import.meta.url),
);

/** Users of our own for the Todo rules (not the interop's): id, email, roles. */
export const USERS = {
  ada: { id: "u-ada", email: "ada@todo.test", roles: ["admin"] },
  eve: { id: "u-eve", email: "eve@todo.test", roles: ["evil_genius"] },
  ed: { id: "u-ed", email: "ed@todo.test", roles: ["editor"] },
  vi: { id: "u-vi", email: "vi@todo.test", roles: ["viewer"] },
} as const;

/**
 * A copy of the Todo starter's directory in a temp dir (config, schema, policies, type table)
 * with our own users in `entities.json`, opened, and the server app over it (no socket).
 */
export async function todoApp(
  options: { adminToken?: string; modules?: readonly RouteModule[] } = {},
) {
  const dir = join(mkdtempSync(join(tmpdir(), "agentgate-todo-")), ".agentgate");
  cpSync(join(EXAMPLE, "config.json"), join(dir, "config.json"));
  cpSync(join(EXAMPLE, "policies"), join(dir, "policies"), { recursive: true });
  const role = (id: string) => ({ type: "Role", id });
  const roles = JSON.parse(readFileSync(join(EXAMPLE, "policies", "entities.json"), "utf8")).filter(
    (entity: { uid: { type: string } }) => entity.uid.type === "Role",
  );
  const users = Object.values(USERS).map((user) => ({
    uid: { type: "User", id: user.id },
    attrs: { email: user.email, name: user.id },
    parents: user.roles.map(role),
  }));
  writeFileSync(join(dir, "policies", "entities.json"), JSON.stringify([...roles, ...users]));
  const workspace = await openWorkspace(dir);
  const policy = CedarPolicyClient.fromDirectory(workspace.policies);
  const audit = new MemoryAuditSink();
  const app = createApp(
    {
      workspace,
      policy,
      audit,
      ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
      baseUrl: () => "https://pdp.todo.test",
    },
    options.modules === undefined ? {} : { modules: options.modules },
  );
  return { app, dir, workspace, policy, audit };
}

/** A JSON POST through `app.request()`. */
export function postJson(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}
