import { Hono } from "hono";
import { z } from "zod";
import { HttpError } from "./http-error.js";
import { jsonObject, validated } from "./json-body.js";
import type { ServerContext } from "./server-context.js";

const revokeBody = z.strictObject({
  kind: z.enum(["agent", "token", "key"]),
  id: z.string().min(1).max(2048),
  reason: z.string().max(256).optional(),
});
const suspendBody = z.strictObject({ agent: z.string().min(1).max(2048) });

/**
 * Admin endpoints: revoke an agent, token or key; suspend an agent. Authentication is not here:
 * `adminAuth` guards the whole `/admin/*` prefix where the app mounts this module.
 */
export function adminRoutes(context: ServerContext): Hono {
  const { workspace } = context;
  return new Hono()
    .post("/admin/revoke", async (c) => {
      const { kind, id, reason } = validated(revokeBody, await jsonObject(c));
      return c.json(await workspace.authority.revoke(kind, id, reason));
    })
    .post("/admin/suspend", async (c) => {
      const { agent } = validated(suspendBody, await jsonObject(c));
      const record = await workspace.registry.get(agent);
      if (record === undefined) throw new HttpError(404, "not_found", "no such agent");
      await workspace.registry.put({ ...record, supervision: "suspended" });
      return c.json({ agent: record.id, supervision: "suspended" });
    });
}
