import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { adminAuth } from "./admin-auth.js";
import { adminRoutes } from "./admin-routes.js";
import { authZenRoutes } from "./authzen-routes.js";
import { bundleRoutes } from "./bundle-routes.js";
import { discoveryRoutes } from "./discovery-routes.js";
import { HttpError, toHttpError } from "./http-error.js";
import { revocationRoutes } from "./revocation-routes.js";
import type { ServerContext } from "./server-context.js";
import { tokenRoutes } from "./token-routes.js";

/** Largest request body accepted; a larger one is a 413 before it is read. */
export const MAX_BODY_BYTES = 64 * 1024;

/** A module of routes: one concern of the server, mounted at the root. */
export type RouteModule = (context: ServerContext) => Hono;

/**
 * The server's route modules, one per concern. A new concern (the audit witness, say) is one
 * more module here; anything it serves under `/admin/` is behind the admin bearer without a
 * line of its own.
 */
export const ROUTE_MODULES: readonly RouteModule[] = [
  discoveryRoutes,
  authZenRoutes,
  tokenRoutes,
  revocationRoutes,
  adminRoutes,
  bundleRoutes,
];

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Route modules beyond {@link ROUTE_MODULES}. */
  readonly modules?: readonly RouteModule[];
}

/**
 * The `agentgate serve` application, without a socket (tests call `app.request()`): request-id
 * echo and `no-store` on every answer, a 64 KiB body limit answering 413, the admin bearer on
 * the whole `/admin/*` prefix, the route modules, and one error handler that writes every
 * failure as JSON `{ error, error_description }` with the status its code maps to. No answer
 * carries a stack, a key or policy text.
 */
export function createApp(context: ServerContext, options: AppOptions = {}): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    const requestId = c.req.header("x-request-id");
    if (requestId !== undefined && /^[\x21-\x7e]{1,128}$/.test(requestId))
      c.header("x-request-id", requestId);
    c.header("cache-control", "no-store");
    await next();
  });
  const tooLarge = () => {
    throw new HttpError(413, "request_too_large", `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  };
  const streamedLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  app.use("*", async (c, next) => {
    // A declared length is checked from the header alone (Node's parser holds the client to it);
    // hono's bodyLimit, which counts the bytes as they stream, takes the bodies without one.
    // Touching the body of every request would turn the node request into a web stream.
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const declared = c.req.header("content-length");
    if (declared === undefined || c.req.header("transfer-encoding") !== undefined)
      return streamedLimit(c, next);
    if (!/^\d{1,15}$/.test(declared) || Number(declared) > MAX_BODY_BYTES) tooLarge();
    await next();
  });
  // Before any route: a forgotten check on a new admin route is impossible.
  app.use("/admin/*", adminAuth(context.adminToken));
  for (const module of [...ROUTE_MODULES, ...(options.modules ?? [])])
    app.route("/", module(context));
  app.notFound((c) => c.json({ error: "not_found", error_description: "no such endpoint" }, 404));
  app.onError((error, c) => {
    const failure =
      error instanceof HTTPException && !(error instanceof HttpError)
        ? new HttpError(
            error.status,
            error.status === 413 ? "request_too_large" : "invalid_request",
            error.message,
          )
        : toHttpError(error);
    return c.json({ error: failure.error, error_description: failure.message }, failure.status);
  });
  return app;
}
