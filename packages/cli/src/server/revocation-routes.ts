import { Hono } from "hono";
import type { ServerContext } from "./server-context.js";

/**
 * The revocation feed other hosts follow (`FeedRevocationList`): every revocation from index
 * `since` on, and the index to ask from next time.
 */
export function revocationRoutes(context: ServerContext): Hono {
  return new Hono().get("/revocations", async (c) => {
    const since = Number(c.req.query("since") ?? 0);
    const all = await context.workspace.revocations.list();
    return c.json({
      revocations: all.slice(Number.isInteger(since) && since > 0 ? since : 0),
      next: all.length,
    });
  });
}
