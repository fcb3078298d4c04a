import { Hono } from "hono";
import { z } from "zod";
import { adminActor } from "../audited-change.js";
import { type AuditedContext, auditedRevoke, auditedSuspend } from "../server-audit.js";
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
 * Admin endpoints: revoke an agent, token or key; suspend an agent. Each change is recorded
 * first, with the admin token's id as its actor (SECURITY.md K83). Authentication is not here:
 * `adminAuth` guards the whole `/admin/*` prefix where the app mounts this module.
 */
export function adminRoutes(context: ServerContext): Hono {
  const { workspace } = context;
  // adminAuth let the request through: it carries the one configured admin token.
  const audited = (): AuditedContext => ({
    workspace,
    audit: context.audit,
    actor: adminActor(context.adminToken ?? ""),
  });
  return new Hono()
    .post("/admin/revoke", async (c) => {
      const { kind, id, reason } = validated(revokeBody, await jsonObject(c));
      return c.json(await auditedRevoke(audited(), kind, id, reason));
    })
    .post("/admin/suspend", async (c) => {
      const { agent } = validated(suspendBody, await jsonObject(c));
      const record = await workspace.registry.get(agent);
      if (record === undefined) throw new HttpError(404, "not_found", "no such agent");
      const suspended = await auditedSuspend(audited(), record);
      return c.json({ agent: suspended.id, supervision: suspended.supervision });
    });
}
