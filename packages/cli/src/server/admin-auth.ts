import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http-error.js";

/**
 * Bearer authentication for the whole `/admin/*` prefix, mounted once on the prefix so that an
 * admin route added later cannot forget it. Without a configured token every caller is refused
 * (403: the admin endpoints are off); a missing or wrong token is a 401. Tokens are compared in
 * constant time.
 */
export function adminAuth(token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : Buffer.from(token);
  return async (c, next) => {
    if (expected === undefined)
      throw new HttpError(
        403,
        "forbidden",
        "admin endpoints are disabled (no admin token configured)",
      );
    const given = Buffer.from(/^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1] ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      c.header("www-authenticate", 'Bearer realm="agentgate-admin"');
      throw new HttpError(401, "invalid_token", "admin bearer token required");
    }
    await next();
  };
}
