import type { AuthZenEvaluation, EvaluationsSemantic } from "@agentgate/core";
import {
  authZenEvaluationSchema,
  authZenEvaluationsSchema,
  batchItems,
  decisionToWire,
  errorToWire,
  isSingleEvaluation,
} from "@agentgate/core/internal";
import { Hono } from "hono";
import { toHttpError } from "./http-error.js";
import { jsonObject, validated } from "./json-body.js";
import { searchRoutes } from "./search-routes.js";
import type { ServerContext } from "./server-context.js";

export { SEARCH_PATHS } from "./search-routes.js";

/**
 * The OpenID AuthZEN 1.0 PDP: Access Evaluation (§6), Access Evaluations (§7) and the Search
 * APIs (§8), decided by the embedded Cedar engine. A deny is HTTP 200 with `decision: false`
 * (§10.1.2); a request missing a required member is a 400. In a batch, an item that cannot be
 * evaluated is that item's deny with the error in its context, never the whole batch's failure.
 */
export function authZenRoutes(context: ServerContext): Hono {
  const { policy } = context;
  const decide = async (evaluation: AuthZenEvaluation) =>
    decisionToWire(await policy.evaluate(evaluation));
  return new Hono()
    .post("/access/v1/evaluation", async (c) =>
      c.json(await decide(validated(authZenEvaluationSchema, await jsonObject(c)))),
    )
    .post("/access/v1/evaluations", async (c) => {
      const body = await jsonObject(c);
      const batch = validated(authZenEvaluationsSchema, body);
      // §7.1: without `evaluations` it is the single evaluation the top level describes.
      if (isSingleEvaluation(batch))
        return c.json(await decide(validated(authZenEvaluationSchema, body)));
      const semantic: EvaluationsSemantic = batch.options?.evaluations_semantic ?? "execute_all";
      const results: Array<{ decision: boolean; context: Record<string, unknown> }> = [];
      for (const item of batchItems(batch)) {
        const result =
          "error" in item
            ? errorToWire(item.error)
            : await decide(item.evaluation).catch((error: unknown) => {
                const failure = toHttpError(error);
                return errorToWire({ status: failure.status, message: failure.message });
              });
        results.push(result);
        if (semantic === "deny_on_first_deny" && !result.decision) break;
        if (semantic === "permit_on_first_permit" && result.decision) break;
      }
      return c.json({ evaluations: results });
    })
    .route("/", searchRoutes(context));
}
