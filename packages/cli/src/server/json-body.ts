import { parseStrictJson, StrictJsonError } from "@agentgate/core/internal";
import type { Context } from "hono";
import type { z } from "zod";
import { HttpError } from "./http-error.js";

/** Deepest nesting a request body may have; AuthZEN requests need a handful of levels. */
export const MAX_BODY_DEPTH = 32;

/**
 * The request body as a JSON object, read strictly: no duplicate or forbidden member names
 * (`__proto__`, `constructor`, `prototype`), no nesting deeper than {@link MAX_BODY_DEPTH}, and
 * the top level an object (AuthZEN §10.1.1). Anything else is a 400, decided before any
 * recursive work on the value.
 */
export async function jsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  let value: unknown;
  try {
    value = parseStrictJson(text === "" ? "{}" : text, { maxDepth: MAX_BODY_DEPTH });
  } catch (error) {
    throw new HttpError(
      400,
      "invalid_request",
      error instanceof StrictJsonError
        ? `the body is not acceptable JSON: ${error.message}`
        : "the body is not JSON",
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new HttpError(400, "invalid_request", "the body must be a JSON object");
  return value as Record<string, unknown>;
}

/** `value` checked by `schema`, or a 400 naming the first member at fault. */
export function validated<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.join(".") ?? "";
  throw new HttpError(
    400,
    "invalid_request",
    `${path === "" ? "" : `${path}: `}${issue?.message ?? "invalid request"}`,
  );
}
