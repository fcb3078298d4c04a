import { createHash } from "node:crypto";
import type { AuthZenEvaluation } from "@agentgate/core";
import { authZenActionSchema, authZenEntitySchema } from "@agentgate/core/internal";
import { Hono } from "hono";
import { z } from "zod";
import { HttpError } from "./http-error.js";
import { jsonObject, validated } from "./json-body.js";
import type { ServerContext } from "./server-context.js";

/** Where the three Search APIs are served (AuthZEN §10.1, default paths). */
export const SEARCH_PATHS = {
  subject: "/access/v1/search/subject",
  resource: "/access/v1/search/resource",
  action: "/access/v1/search/action",
} as const;

/** The most candidates one search evaluates; the engine answers by evaluating each. */
const MAX_CANDIDATES = 10_000;
const MAX_PAGE = 1000;

const NAME = z.string().min(1).max(1024);
const properties = z.record(z.string(), z.unknown());
/** The entity searched for: a type, its id ignored (§8.4, §8.5). */
const searched = z.looseObject({
  type: NAME,
  id: z.unknown().optional(),
  properties: properties.optional(),
});
const page = z
  .looseObject({
    token: z.string().max(512).optional(),
    limit: z.number().int().min(0).max(MAX_PAGE).optional(),
  })
  .optional();
const subjectSearch = z.looseObject({
  subject: searched,
  action: authZenActionSchema,
  resource: authZenEntitySchema,
  context: properties.optional(),
  page,
});
const resourceSearch = z.looseObject({
  subject: authZenEntitySchema,
  action: authZenActionSchema,
  resource: searched,
  context: properties.optional(),
  page,
});
const actionSearch = z.looseObject({
  subject: authZenEntitySchema,
  resource: authZenEntitySchema,
  context: properties.optional(),
  page,
});

/**
 * The Search APIs (AuthZEN §8), answered the way an embedded engine can: every entity of the
 * searched type the engine knows (its `entities.json`), or every action the schema lets apply to
 * the subject's and resource's types, is evaluated, and the permitted ones are the results. So a
 * result, evaluated again, is a permit (§8.1). Pages (§8.3) are at most 1,000 results; the
 * `next_token` binds the rest of the request, so a changed request with an old token is a 400.
 */
export function searchRoutes(context: ServerContext): Hono {
  const { policy } = context;
  const permitted = async (evaluation: AuthZenEvaluation) =>
    (await policy.evaluate(evaluation)).allowed;
  return new Hono()
    .post(SEARCH_PATHS.subject, async (c) => {
      const body = validated(subjectSearch, await jsonObject(c));
      const candidates = policy.knownEntities(body.subject.type);
      return c.json(
        await paged(body, candidates, (candidate) =>
          permitted({
            subject: withProperties(candidate, body.subject.properties),
            action: body.action,
            resource: body.resource,
            ...(body.context ? { context: body.context } : {}),
          }),
        ),
      );
    })
    .post(SEARCH_PATHS.resource, async (c) => {
      const body = validated(resourceSearch, await jsonObject(c));
      const candidates = policy.knownEntities(body.resource.type);
      return c.json(
        await paged(body, candidates, (candidate) =>
          permitted({
            subject: body.subject,
            action: body.action,
            resource: withProperties(candidate, body.resource.properties),
            ...(body.context ? { context: body.context } : {}),
          }),
        ),
      );
    })
    .post(SEARCH_PATHS.action, async (c) => {
      const body = validated(actionSearch, await jsonObject(c));
      const candidates = policy
        .knownActions(body.subject.type, body.resource.type)
        .map((name) => ({ name }));
      return c.json(
        await paged(body, candidates, (candidate) =>
          permitted({
            subject: body.subject,
            action: candidate,
            resource: body.resource,
            ...(body.context ? { context: body.context } : {}),
          }),
        ),
      );
    });
}

function withProperties(
  entity: { type: string; id: string },
  properties: Record<string, unknown> | undefined,
) {
  return properties === undefined ? entity : { ...entity, properties };
}

/** Evaluates candidates from the page's offset on until the page is full. */
async function paged<T>(
  body: { page?: { token?: string | undefined; limit?: number | undefined } | undefined },
  candidates: readonly T[],
  allowed: (candidate: T) => Promise<boolean>,
): Promise<{ page: { next_token: string; count: number }; results: T[] }> {
  const { page: requested, ...rest } = body as Record<string, unknown> & {
    page?: { token?: string; limit?: number };
  };
  const binding = createHash("sha256")
    .update(JSON.stringify({ ...rest, limit: requested?.limit }))
    .digest("base64url")
    .slice(0, 16);
  let offset = 0;
  if (requested?.token !== undefined && requested.token !== "") {
    const match = /^(\d{1,6})\.([A-Za-z0-9_-]{16})$/.exec(requested.token);
    if (match === null || match[2] !== binding)
      throw new HttpError(400, "invalid_request", "page.token does not belong to this request");
    offset = Number(match[1]);
  }
  const limit = requested?.limit ?? MAX_PAGE;
  const results: T[] = [];
  let index = offset;
  for (; index < Math.min(candidates.length, MAX_CANDIDATES) && results.length < limit; index++) {
    const candidate = candidates[index] as T;
    if (await allowed(candidate)) results.push(candidate);
  }
  const more = index < Math.min(candidates.length, MAX_CANDIDATES);
  return {
    page: { next_token: more ? `${index}.${binding}` : "", count: results.length },
    results,
  };
}
