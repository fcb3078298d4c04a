// `pnpm --filter @agentgate/cedar conformance <corpus-dir>`: runs every request of Cedar's
// conformance corpus (cedar-policy/cedar-integration-tests, corpus-tests.tar.gz unpacked
// anywhere outside this repository) through the compiled evaluator, or through cedar-wasm where
// the compiler declines, and compares decision, determining policies and erroring policies with
// the answers the corpus expects. The last line is the count.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { NotCompiled } from "../dist/compiled/compile-expression.js";
import { compilePolicySet } from "../dist/compiled/compiled-policy-set.js";
import { EntityUid, entityStoreFromJson, fromJson, NeedsWasm } from "../dist/compiled/values.js";

const directory = process.argv[2];
if (directory === undefined) {
  console.error("usage: conformance <corpus-dir>");
  process.exit(2);
}
const root = resolve(directory);
const tests = readdirSync(root)
  .filter((name) => name.endsWith(".json") && !name.endsWith(".entities.json"))
  .sort();
const verbose = process.env.CONFORMANCE_VERBOSE === "1";
let agree = 0;
let differ = 0;
let throughWasm = 0;
let wasmRefused = 0;
const reasonsWhy = new Map();
const parent = join(root, "..");
for (const name of tests) {
  const test = JSON.parse(readFileSync(join(root, name), "utf8"));
  const read = (path) => readFileSync(resolve(parent, path), "utf8");
  const policiesText = read(test.policies);
  const schemaText = read(test.schema);
  const entitiesText = read(test.entities);
  const entitiesJson = JSON.parse(entitiesText);
  let compiled;
  let why;
  try {
    compiled = compileCorpusSet(policiesText);
  } catch (error) {
    if (!(error instanceof NotCompiled)) throw error;
    why = error.message.replace(/^policy \S+: /, "");
  }
  let store;
  if (compiled !== undefined) {
    try {
      store = entityStoreFromJson(parseLossless(entitiesText), actionEntities(schemaText));
    } catch {
      why = "entities the compiled path does not read";
    }
  }
  const exact = parseLossless(readFileSync(join(root, name), "utf8")).requests;
  for (const [index, request] of test.requests.entries()) {
    request.contextExact = exact[index].context;
    const expected = {
      decision: request.decision,
      reasons: [...request.reason].sort(),
      errors: [...new Set(request.errors.map((error) => error.policyId ?? error))].sort(),
    };
    let answer;
    if (compiled !== undefined && store !== undefined) {
      try {
        answer = normalise(
          compiled.authorize({
            principal: new EntityUid(request.principal.type, request.principal.id),
            action: new EntityUid(request.action.type, request.action.id),
            resource: new EntityUid(request.resource.type, request.resource.id),
            context: fromJson(request.contextExact),
            entities: store,
          }),
        );
      } catch (error) {
        if (!(error instanceof NeedsWasm)) throw error;
        why = `request: ${error.message}`;
      }
    }
    if (answer === undefined) {
      throughWasm++;
      reasonsWhy.set(why, (reasonsWhy.get(why) ?? 0) + 1);
      answer = wasmAnswer(policiesText, schemaText, entitiesJson, request);
    }
    if (JSON.stringify(answer) === JSON.stringify(expected)) agree++;
    else {
      differ++;
      if (answer.decision === "failure") wasmRefused++;
      if (verbose || differ <= 10)
        console.log(
          `differ: ${name} ${request.description}\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(answer)}`,
        );
    }
  }
}
for (const [why, count] of [...reasonsWhy].sort((a, b) => b[1] - a[1]))
  console.log(`through cedar-wasm: ${count} requests, ${why}`);
if (wasmRefused > 0)
  console.log(
    `of the ${differ} that differ, ${wasmRefused} went to cedar-wasm, whose JS API refused the request (an integer beyond 2^53 in its JSON)`,
  );
console.log(`conformance: ${agree} agree, ${differ} differ, ${throughWasm} through cedar-wasm`);
process.exitCode = differ === 0 ? 0 : 1;

/**
 * JSON.parse, but integers beyond 2^53 become BigInt (Cedar's Longs are 64-bit; the corpus holds
 * some). cedar-wasm's JS API cannot take those, so only the compiled path reads them exactly.
 */
function parseLossless(text) {
  let out = "";
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '"') {
      for (index++; text[index] !== '"'; index++) if (text[index] === "\\") index++;
      continue;
    }
    if (char === "-" || (char >= "0" && char <= "9")) {
      let end = index + 1;
      while (end < text.length && /[0-9.eE+-]/.test(text[end])) end++;
      const token = text.slice(index, end);
      if (/^-?[0-9]+$/.test(token) && !Number.isSafeInteger(Number(token))) {
        out += `${text.slice(start, index)}"\\u0000long:${token}"`;
        start = end;
      }
      index = end - 1;
    }
  }
  out += text.slice(start);
  return JSON.parse(out, (_key, value) =>
    typeof value === "string" && value.startsWith("\u0000long:") ? BigInt(value.slice(6)) : value,
  );
}

function compileCorpusSet(text) {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== "success" || (parts.policyTemplates?.length ?? 0) > 0)
    throw new NotCompiled("templates");
  return compilePolicySet(
    parts.policies.map((policy, index) => {
      const json = cedar.policyToJson(policy);
      if (json.type !== "success") throw new NotCompiled("a policy policyToJson refuses");
      return { id: `policy${index}`, json: json.json, text: policy };
    }),
  );
}

function actionEntities(schemaText) {
  const resolved = cedar.schemaToJsonWithResolvedTypes(schemaText);
  if (resolved.type !== "success") throw new Error("schema");
  const out = [];
  for (const [namespace, definition] of Object.entries(resolved.json)) {
    const type = namespace === "" ? "Action" : `${namespace}::Action`;
    for (const [action, spec] of Object.entries(definition.actions)) {
      out.push({
        uid: new EntityUid(type, action),
        parents: (spec.memberOf ?? []).map((group) => new EntityUid(group.type ?? type, group.id)),
      });
    }
  }
  return out;
}

function wasmAnswer(policiesText, schemaText, entities, request) {
  const answer = cedar.isAuthorized({
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    context: request.context,
    schema: schemaText,
    validateRequest: request.validateRequest,
    policies: { staticPolicies: policiesText },
    entities,
  });
  // cedar-wasm's JS API cannot take an integer beyond 2^53 in entities or context (it arrives as
  // an inexact float and is refused): such a request cannot be decided through cedar-wasm here.
  if (answer.type !== "success") return { decision: "failure", reasons: [], errors: [] };
  return {
    decision: answer.response.decision,
    reasons: [...answer.response.diagnostics.reason].sort(),
    errors: [...new Set(answer.response.diagnostics.errors.map((error) => error.policyId))].sort(),
  };
}

function normalise(answer) {
  return {
    decision: answer.decision,
    reasons: [...answer.reasons].sort(),
    errors: [...new Set(answer.errors.map((error) => error.policyId))].sort(),
  };
}
