import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DifferentialCase, differentialCase } from "../../test/random-cedar.js";
import { NotCompiled } from "./compile-expression.js";
import { compilePolicySet } from "./compiled-policy-set.js";
import { EntityUid, entityStoreFromJson, fromJson } from "./values.js";

/** Requests per generated policy set; `CEDAR_DIFFERENTIAL_RUNS` sets how many sets. */
const REQUESTS_PER_CASE = 20;
const RUNS = Number(process.env.CEDAR_DIFFERENTIAL_RUNS ?? 500);

interface Answer {
  decision: string;
  reasons: string[];
  errors: string[];
}

/** Cedar's own answer (cedar-wasm, no schema: ill-typed policies are evaluated, not refused). */
function reference(
  testCase: DifferentialCase,
  request: DifferentialCase["requests"][number],
): Answer {
  const answer = cedar.statefulIsAuthorized({
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    context: request.context as Record<string, never>,
    preparsedPolicySetId: "differential",
    entities: testCase.entities as never,
  });
  if (answer.type !== "success")
    return { decision: `failure: ${answer.errors[0]?.message}`, reasons: [], errors: [] };
  return {
    decision: answer.response.decision,
    reasons: [...answer.response.diagnostics.reason].sort(),
    errors: [...new Set(answer.response.diagnostics.errors.map((error) => error.policyId))].sort(),
  };
}

/** What the generated cases exercised, so a generator that stops exercising anything fails. */
const seen = { policies: 0, parsed: 0, requests: 0, allow: 0, deny: 0, erroring: 0, failures: 0 };

/** Runs one case both ways; returns the first disagreement, or undefined. */
function disagreement(testCase: DifferentialCase): string | undefined {
  const sources: Array<{ id: string; json: unknown; text: string }> = [];
  const texts: Record<string, string> = {};
  for (const [index, text] of testCase.policies.entries()) {
    const json = cedar.policyToJson(text);
    seen.policies++;
    if (json.type !== "success") continue; // Cedar's parser refuses it: not a policy
    seen.parsed++;
    texts[`policy${index}`] = text;
    sources.push({ id: `policy${index}`, json: json.json, text });
  }
  if (sources.length === 0) return undefined;
  if (cedar.preparsePolicySet("differential", { staticPolicies: texts }).type !== "success")
    return "cedar-wasm refuses a set whose policies each parse";
  let compiled: ReturnType<typeof compilePolicySet>;
  try {
    compiled = compilePolicySet(sources);
  } catch (error) {
    if (error instanceof NotCompiled) return `not compiled: ${error.message}`;
    throw error;
  }
  const store = entityStoreFromJson(testCase.entities);
  for (const request of testCase.requests) {
    const expected = reference(testCase, request);
    seen.requests++;
    if (expected.decision === "allow") seen.allow++;
    else if (expected.decision === "deny") seen.deny++;
    else seen.failures++;
    if (expected.errors.length > 0) seen.erroring++;
    const answer = compiled.authorize({
      principal: new EntityUid(request.principal.type, request.principal.id),
      action: new EntityUid(request.action.type, request.action.id),
      resource: new EntityUid(request.resource.type, request.resource.id),
      context: fromJson(request.context) as Record<string, never>,
      entities: store,
    });
    const got: Answer = {
      decision: answer.decision,
      reasons: [...answer.reasons].sort(),
      errors: [...new Set(answer.errors.map((error) => error.policyId))].sort(),
    };
    if (JSON.stringify(got) !== JSON.stringify(expected))
      return `request ${JSON.stringify(request)}\n  cedar-wasm ${JSON.stringify(expected)}\n  compiled   ${JSON.stringify(got)}`;
  }
  return undefined;
}

describe("the compiled evaluator is Cedar", () => {
  it(`agrees with cedar-wasm on decision, determining and erroring policies (${RUNS * REQUESTS_PER_CASE} random requests over ${RUNS} random policy sets, ill-typed ones included)`, () => {
    let failure: string | undefined;
    const result = fc.check(
      fc.property(differentialCase(REQUESTS_PER_CASE), (testCase) => {
        failure = disagreement(testCase);
        return failure === undefined;
      }),
      {
        numRuns: RUNS,
        // A fixed seed in CI (replayable); `CEDAR_DIFFERENTIAL_SEED=random` for new ground.
        ...(process.env.CEDAR_DIFFERENTIAL_SEED === "random"
          ? {}
          : { seed: Number(process.env.CEDAR_DIFFERENTIAL_SEED ?? 20261201) }),
      },
    );
    if (result.failed) {
      // The counterexample is fast-check's smallest failing case; re-run it for the message.
      const smallest = (result.counterexample as [DifferentialCase])[0];
      failure = disagreement(smallest);
      throw new Error(
        `the compiled evaluator and cedar-wasm disagree (seed ${result.seed}, path ${result.counterexamplePath}).\nSmallest case:\n  policies ${JSON.stringify(smallest.policies, null, 2)}\n  entities ${JSON.stringify(smallest.entities)}\n  ${failure}`,
      );
    }
    expect(result.numRuns).toBe(RUNS);
    console.log(`differential: ${JSON.stringify(seen)}`);
    expect(seen.failures).toBe(0);
    expect(seen.requests).toBeGreaterThanOrEqual(RUNS * REQUESTS_PER_CASE * 0.9);
    for (const count of [seen.allow, seen.deny, seen.erroring])
      expect(count).toBeGreaterThan(seen.requests * 0.05);
  }, 600_000);
});
