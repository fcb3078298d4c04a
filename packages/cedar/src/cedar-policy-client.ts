import { existsSync, type FSWatcher, readdirSync, readFileSync, watch } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AgentGateError,
  type AuthZenEvaluation,
  allow,
  type Decision,
  deny,
  type PolicyClient,
} from "@agentgate/core";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { type LoadedSchema, loadSchema, prune, type Shape } from "./cedar-schema.js";
import { NotCompiled } from "./compiled/compile-expression.js";
import { type CompiledPolicySet, compilePolicySet } from "./compiled/compiled-policy-set.js";
import { requestEnvironment } from "./compiled/request-environment.js";
import { NeedsWasm } from "./compiled/values.js";
import { EntityStore } from "./entity-store.js";
import { EntityTypes } from "./entity-types.js";
import { emptyNeeds, mergeNeeds, type Needs, pickPaths } from "./policy-needs.js";
import { policySetHash } from "./policy-set-hash.js";
import { loadPolicies, type PolicyEntry } from "./policy-store.js";
import { type CedarUids, cedarEntities, cedarUids } from "./request-to-cedar.js";
import { sliceFor } from "./slicer.js";

/** The schema shipped with `@agentgate/cedar`: the AgentGate entity model. */
export const DEFAULT_SCHEMA_PATH = fileURLToPath(
  new URL("../policies/agentgate.cedarschema", import.meta.url),
);

/** Options of {@link CedarPolicyClient}. */
export interface CedarPolicyClientOptions {
  /** Policy files: name → Cedar text. */
  readonly policies: Readonly<Record<string, string>>;
  /** Cedar schema text. Default: the AgentGate schema shipped with this package. */
  readonly schema?: string;
  /**
   * Evaluate only the policies whose scope can match each request (default `true`). Exact by
   * construction; `false` evaluates the whole set, for comparison.
   */
  readonly slicing?: boolean;
  /**
   * AuthZEN type → Cedar entity type, over the defaults (`agent` → `Agent`, `user` → `User`,
   * `tool` → `Tool`; any other type capitalised: `todo` → `Todo`). E.g. `{ identity: "User" }`.
   */
  readonly entityTypes?: Readonly<Record<string, string>>;
  /**
   * Entities the engine knows (Cedar JSON entity format): users with their roles as parents,
   * documents, routes. Authoritative over a request's properties; the subject and resource
   * searches list them. Validated against the schema at load.
   */
  readonly entities?: readonly unknown[];
  /** See {@link CedarEvaluator}. Default `"compiled"`. */
  readonly evaluator?: CedarEvaluator;
  /** Called with a line saying which evaluator decides each set and why (a debug log). */
  readonly debug?: (message: string) => void;
}

/**
 * Which evaluator decides. `"compiled"` (the default): the validated policies compiled to
 * JavaScript, with Cedar's exact semantics (the `ipaddr`, `decimal`, `datetime` and `duration`
 * extensions included); a set using a construct the compiler cannot prove it handles exactly and
 * a request holding a value it leaves to cedar-wasm (an extension-typed context member or entity
 * attribute) are decided by cedar-wasm instead, visibly. `"cedar-wasm"`: always cedar-wasm, the reference.
 */
export type CedarEvaluator = "compiled" | "cedar-wasm";

/** Options of {@link CedarPolicyClient.fromDirectory}. */
export interface CedarDirectoryOptions {
  /** The schema file. Default: the only `*.cedarschema` in the directory, else the shipped one. */
  readonly schemaPath?: string;
  /** Reload when a file changes, keeping the last good set when a reload fails. Default `false`. */
  readonly watch?: boolean;
  /** See {@link CedarPolicyClientOptions.slicing}. Default `true`. */
  readonly slicing?: boolean;
  /** See {@link CedarEvaluator}. Default `"compiled"`. */
  readonly evaluator?: CedarEvaluator;
  /** See {@link CedarPolicyClientOptions.debug}. */
  readonly debug?: (message: string) => void;
  /**
   * Told about the first load and every reload, with the set's hash, so the caller can record a
   * `policy_loaded` audit event (SECURITY.md K83). A failed reload reports its `error` (the
   * last good set stays in force).
   */
  readonly onLoad?: (load: PolicyLoad) => void;
}

/** What {@link CedarDirectoryOptions.onLoad} is told. */
export interface PolicyLoad {
  /** The version in force after this load (unchanged when a reload failed). */
  readonly version: number;
  /** {@link policySetHash} of the files read; absent when they could not be read. */
  readonly hash?: string;
  /** The policy files read, by name. */
  readonly files: readonly string[];
  /** `false` for the first load. */
  readonly reload: boolean;
  /** Why a reload failed. */
  readonly error?: string;
}

/** Why a request was decided as it was (see {@link CedarPolicyClient.explain}). */
export interface Explanation {
  readonly allowed: boolean;
  readonly permitting: ReadonlyArray<{ id: string; file: string; line: number | undefined }>;
  readonly forbidding: ReadonlyArray<{ id: string; file: string; line: number | undefined }>;
  /** Policies whose scope matched the request, i.e. what was evaluated. */
  readonly considered: number;
  readonly errors: readonly string[];
  readonly reason: string;
  /** Which evaluator decided: the compiled one, or cedar-wasm (and then why, in `engineReason`). */
  readonly engine: CedarEvaluator;
  readonly engineReason?: string;
}

interface Loaded {
  readonly version: number;
  readonly schema: LoadedSchema;
  readonly types: EntityTypes;
  readonly store: EntityStore;
  readonly policies: readonly PolicyEntry[];
  readonly byId: ReadonlyMap<string, PolicyEntry>;
  /** Slice key → the wasm-side name of its pre-parsed set, and what its policies read. */
  readonly slices: Map<string, { readonly id: string; readonly needs: Needs }>;
  /** Names are `<prefix><slot>`; slots are reused only after `slices` forgot them. */
  readonly prefix: string;
  /** The compiled set, or why the set is decided by cedar-wasm. */
  readonly compiled: CompiledPolicySet | { readonly reason: string };
}

/** A decided request: a denial found before or during evaluation, or Cedar's answer. */
type Authorization = (
  | { readonly denial: Decision; readonly considered: number }
  | {
      readonly response: { decision: "allow" | "deny"; diagnostics: { reason: string[] } };
      readonly loaded: Loaded;
      readonly considered: number;
    }
) & { readonly engine: CedarEvaluator; readonly engineReason?: string };

const MAX_SLICES = 256;
let clientCounter = 0;

/**
 * The embedded policy engine: Cedar (`@cedar-policy/cedar-wasm`) in process. Policies and the
 * schema are validated at load in strict mode, with file and line in every message; requests are
 * validated against the schema too; a decision during which any policy errored denies (an
 * erroring `forbid` must never turn into an allow, SECURITY.md I61); a failed reload keeps the
 * last good set (C32). Each request evaluates only the policies whose scope can apply (slicing),
 * and the sliced sets stay pre-parsed in wasm.
 *
 * Besides the AgentGate requests of its gate, it decides any AuthZEN evaluation (a `user` on a
 * `todo`, an `identity` on a `route`): subject and resource types map to Cedar entity types
 * through a table ({@link CedarPolicyClientOptions.entityTypes}), their properties to the
 * attributes the schema declares for that type, and entities it knows from `entities.json`
 * (users and their roles) complete them.
 *
 * Policy annotations: `@id("…")` names a policy in decisions and the audit log,
 * `@reason("…")` is the reason a model may be shown when it forbids, and
 * `@obligation("require-approval")` / `@obligation("redact:ssn; require-approval")` attach
 * obligations to a permit.
 *
 * @example
 * ```ts
 * const policy = CedarPolicyClient.fromDirectory(".agentgate/policies", { watch: true });
 * const gate = new Gate({ ...ports, policy });
 * ```
 */
export class CedarPolicyClient implements PolicyClient {
  #loaded: Loaded;
  readonly #slicing: boolean;
  readonly #evaluator: CedarEvaluator;
  readonly #debug: ((message: string) => void) | undefined;
  readonly #prefix = `agentgate-${++clientCounter}-`;
  #watcher: FSWatcher | undefined;
  #lastReloadError: AgentGateError | undefined;

  constructor(options: CedarPolicyClientOptions) {
    this.#slicing = options.slicing ?? true;
    this.#evaluator = options.evaluator ?? "compiled";
    this.#debug = options.debug;
    this.#loaded = this.#load(
      {
        policies: options.policies,
        schema: options.schema ?? readFileSync(DEFAULT_SCHEMA_PATH, "utf8"),
        ...(options.entityTypes === undefined ? {} : { entityTypes: options.entityTypes }),
        ...(options.entities === undefined ? {} : { entities: options.entities }),
      },
      1,
    );
  }

  /**
   * Loads every `*.cedar` file of `directory`. Throws `policy_invalid` when any file or the
   * schema is invalid, so a bad set fails at start-up.
   */
  static fromDirectory(directory: string, options: CedarDirectoryOptions = {}): CedarPolicyClient {
    const read = () => readDirectory(directory, options.schemaPath);
    const first = read();
    const client = new CedarPolicyClient({
      ...first,
      ...(options.slicing === undefined ? {} : { slicing: options.slicing }),
      ...(options.evaluator === undefined ? {} : { evaluator: options.evaluator }),
      ...(options.debug === undefined ? {} : { debug: options.debug }),
    });
    const report = (
      source: ReturnType<typeof read> | undefined,
      reload: boolean,
      error?: AgentGateError,
    ) =>
      options.onLoad?.({
        version: client.version(),
        ...(source === undefined ? {} : { hash: policySetHash(source) }),
        files: source === undefined ? [] : Object.keys(source.policies),
        reload,
        ...(error === undefined ? {} : { error: error.message }),
      });
    report(first, false);
    if (options.watch === true) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const reload = () => {
        let source: ReturnType<typeof read> | undefined;
        client.reload(() => {
          source = read();
          return source;
        });
        report(source, true, client.lastReloadError);
      };
      client.#watcher = watch(directory, () => {
        clearTimeout(timer);
        timer = setTimeout(reload, 50);
      });
      client.#watcher.unref();
    }
    return client;
  }

  /** Changes whenever a reload succeeds; decision caches drop their entries then (C33). */
  version(): number {
    return this.#loaded.version;
  }

  /** The error of the last failed reload, if the newest attempt failed. */
  get lastReloadError(): AgentGateError | undefined {
    return this.#lastReloadError;
  }

  /** Which evaluator decides the loaded set, and why when it is cedar-wasm. */
  get engine(): { readonly evaluator: CedarEvaluator; readonly reason?: string } {
    const compiled = this.#loaded.compiled;
    return "reason" in compiled
      ? { evaluator: "cedar-wasm", reason: compiled.reason }
      : { evaluator: "compiled" };
  }

  /** The loaded policies, with their files and lines. */
  get policies(): readonly PolicyEntry[] {
    return this.#loaded.policies;
  }

  /**
   * Replaces the policy set. Throws `policy_invalid` and keeps the current set when the new one
   * is invalid (C32).
   */
  reload(source: () => PolicySource): void {
    try {
      const next = source();
      this.#loaded = this.#load(
        { ...next, schema: next.schema ?? this.#loaded.schema.text },
        this.#loaded.version + 1,
      );
      this.#lastReloadError = undefined;
    } catch (error) {
      this.#lastReloadError =
        error instanceof AgentGateError
          ? error
          : new AgentGateError("policy_invalid", "The policy reload failed.", { cause: error });
    }
  }

  /**
   * The stored entities whose Cedar type is the one `type` (an AuthZEN type) maps to, as AuthZEN
   * entities of that type: the candidates of a subject or resource search (AuthZEN §8).
   */
  knownEntities(type: string): Array<{ type: string; id: string }> {
    const cedarType = this.#loaded.types.cedarType(type);
    if (cedarType === undefined) return [];
    return this.#loaded.store.ofType(cedarType).map((entity) => ({ type, id: entity.uid.id }));
  }

  /**
   * The actions the schema lets apply to a principal of AuthZEN type `subjectType` and a
   * resource of `resourceType`: the candidates of an action search (AuthZEN §8.6).
   */
  knownActions(subjectType: string, resourceType: string): string[] {
    const principal = this.#loaded.types.cedarType(subjectType);
    const resource = this.#loaded.types.cedarType(resourceType);
    return [...this.#loaded.schema.actions]
      .filter(
        ([, scope]) =>
          principal !== undefined &&
          resource !== undefined &&
          scope.principals.includes(principal) &&
          scope.resources.includes(resource),
      )
      .map(([name]) => name);
  }

  /**
   * Decides an AccessRequest of the gate, or any AuthZEN evaluation (every AccessRequest is
   * one). Anything the engine cannot map or evaluate denies, with the reason.
   */
  async evaluate(request: AuthZenEvaluation): Promise<Decision> {
    const outcome = this.#authorize(request);
    if ("denial" in outcome) return outcome.denial;
    const { response, loaded } = outcome;
    const ids = response.diagnostics.reason;
    const entries = ids
      .map((id) => loaded.byId.get(id))
      .filter((entry): entry is PolicyEntry => entry !== undefined);
    if (response.decision === "allow") {
      const obligations = entries.flatMap((entry) =>
        (entry.annotations.obligation ?? "")
          .split(";")
          .map((part) => part.trim())
          .filter(Boolean),
      );
      return allow(`permitted by ${ids.join(", ")}`, {
        policies: ids,
        obligations: [...new Set(obligations)],
      });
    }
    const safeReason = entries
      .map((entry) => entry.annotations.reason)
      .find((reason) => reason !== undefined);
    return deny(
      ids.length === 0
        ? "no policy permits this request (default deny)"
        : `forbidden by ${ids.join(", ")}`,
      {
        policies: ids,
        ...(safeReason === undefined ? {} : { safeReason }),
      },
    );
  }

  /** Which policies permitted or forbade a request, and why nothing matched when nothing did. */
  explain(request: AuthZenEvaluation): Explanation {
    const outcome = this.#authorize(request);
    const locate = (entry: PolicyEntry) => ({ id: entry.id, file: entry.file, line: entry.line });
    if ("denial" in outcome) {
      return {
        allowed: false,
        permitting: [],
        forbidding: [],
        considered: outcome.considered,
        errors: [outcome.denial.reason],
        reason: outcome.denial.reason,
        ...engineOf(outcome),
      };
    }
    const entries = outcome.response.diagnostics.reason
      .map((id) => outcome.loaded.byId.get(id))
      .filter((entry): entry is PolicyEntry => entry !== undefined);
    const allowed = outcome.response.decision === "allow";
    const reason = allowed
      ? `permitted by ${entries.map((entry) => entry.id).join(", ")}`
      : entries.length > 0
        ? `forbidden by ${entries.map((entry) => entry.id).join(", ")}`
        : outcome.considered === 0
          ? "no policy's scope (principal, action, resource) matches this request: default deny"
          : `${outcome.considered} policies match the scope but none of their conditions held: default deny`;
    return {
      allowed,
      permitting: allowed ? entries.map(locate) : [],
      forbidding: allowed ? [] : entries.map(locate),
      considered: outcome.considered,
      errors: [],
      reason,
      ...engineOf(outcome),
    };
  }

  async close(): Promise<void> {
    this.#watcher?.close();
  }

  #load(source: PolicySource & { schema: string }, version: number): Loaded {
    const loaded = load(source, version, this.#prefix, this.#evaluator);
    const { compiled } = loaded;
    this.#debug?.(
      "reason" in compiled
        ? `cedar: policy set v${version} (${loaded.policies.length} policies) is decided by cedar-wasm: ${compiled.reason}`
        : `cedar: policy set v${version} (${loaded.policies.length} policies) is decided by the compiled evaluator`,
    );
    return loaded;
  }

  #authorize(request: AuthZenEvaluation): Authorization {
    const loaded = this.#loaded;
    const compiled = loaded.compiled;
    const engine =
      "reason" in compiled
        ? ({ engine: "cedar-wasm", engineReason: compiled.reason } as const)
        : ({ engine: "compiled" } as const);
    const uids = cedarUids(request, loaded.types);
    if (typeof uids === "string") return { denial: deny(uids), considered: 0, ...engine };
    const shape = loaded.schema.contexts.get(uids.action.id);
    if (shape === undefined) {
      return {
        denial: deny(`action "${uids.action.id}" is not declared in the Cedar schema`),
        considered: 0,
        ...engine,
      };
    }
    if ("reason" in compiled) return this.#wasm(loaded, request, uids, shape, compiled.reason);
    try {
      return this.#compiled(compiled, loaded, request, uids, shape);
    } catch (error) {
      if (!(error instanceof NeedsWasm)) throw error;
      const why = `the request holds what the compiled evaluator leaves to cedar-wasm (${error.message})`;
      this.#debug?.(`cedar: one request decided by cedar-wasm: ${why}`);
      return this.#wasm(loaded, request, uids, shape, why);
    }
  }

  #compiled(
    compiled: CompiledPolicySet,
    loaded: Loaded,
    request: AuthZenEvaluation,
    uids: CedarUids,
    shape: Shape,
  ): Authorization {
    // Every attribute the schema declares crosses (nothing is serialised, so reading them all
    // costs little); the entity store completes them and gives the parents.
    const entities = cedarEntities(request, uids, loaded.schema, loaded.store, {
      principal: { attributes: true, tags: true },
      resource: { attributes: true, tags: true },
    });
    const env = requestEnvironment(
      uids,
      entities,
      loaded.schema,
      prune(request.context ?? {}, shape),
      shape,
    );
    if ("invalid" in env) {
      // A request the schema refuses (an argument of the wrong type, a missing member) is denied,
      // as Cedar's request validation refuses it.
      return {
        denial: deny(`the request does not fit the Cedar schema: ${env.invalid}`),
        considered: 0,
        engine: "compiled",
      };
    }
    const answer = compiled.authorize(env);
    if (answer.errors.length > 0) {
      // Cedar skips a policy whose evaluation errors; if it was a forbid, the answer could be a
      // wrong allow. Any error denies (I61).
      return {
        denial: deny(
          `policy evaluation failed: ${answer.errors.map((error) => `${error.policyId}: ${error.message}`).join("; ")}`,
          { policies: answer.errors.map((error) => error.policyId) },
        ),
        considered: answer.considered,
        engine: "compiled",
      };
    }
    if (answer.considered === 0)
      return {
        denial: deny("no policy's scope matches this request (default deny)"),
        considered: 0,
        engine: "compiled",
      };
    return {
      response: { decision: answer.decision, diagnostics: { reason: answer.reasons } },
      loaded,
      considered: answer.considered,
      engine: "compiled",
    };
  }

  #wasm(
    loaded: Loaded,
    request: AuthZenEvaluation,
    uids: CedarUids,
    shape: Shape,
    why: string,
  ): Authorization {
    const engine = { engine: "cedar-wasm", engineReason: why } as const;
    const slice = this.#slicing
      ? sliceFor(loaded.policies, {
          principal: `${uids.principal.type}::${JSON.stringify(uids.principal.id)}`,
          action: `Action::${JSON.stringify(uids.action.id)}`,
          resource: `${uids.resource.type}::${JSON.stringify(uids.resource.id)}`,
          resourceType: uids.resource.type,
        })
      : loaded.policies;
    if (slice.length === 0)
      return {
        denial: deny("no policy's scope matches this request (default deny)"),
        considered: 0,
        ...engine,
      };
    const prepared = preparedSlice(loaded, slice);
    let answer: ReturnType<typeof cedar.statefulIsAuthorized>;
    try {
      // Only what the slice's policies read crosses into wasm (the per-call cost); the schema is
      // needed at evaluation only for action groups, since policies were validated at load and
      // any evaluation error denies below.
      answer = cedar.statefulIsAuthorized({
        principal: uids.principal,
        action: uids.action,
        resource: uids.resource,
        context: contextFor(
          request.context ?? {},
          shape,
          prepared.needs,
          loaded.schema.hasActionGroups,
        ) as Record<string, never>,
        entities: entitiesFor(request, uids, loaded, prepared.needs),
        preparsedPolicySetId: prepared.id,
        ...(loaded.schema.hasActionGroups
          ? { preparsedSchemaName: loaded.schema.preparsedName, validateRequest: true }
          : {}),
      });
    } catch (error) {
      throw new AgentGateError("policy_unavailable", "The Cedar engine failed.", { cause: error });
    }
    if (answer.type !== "success") {
      // A request the schema refuses (an undeclared verb, an argument of the wrong type) is denied.
      return {
        denial: deny(
          `the request does not fit the Cedar schema: ${answer.errors.map((error) => error.message).join("; ")}`,
        ),
        considered: slice.length,
        ...engine,
      };
    }
    if (answer.response.diagnostics.errors.length > 0) {
      // Cedar skips a policy whose evaluation errors; if it was a forbid, the answer could be a
      // wrong allow. Any error denies (I61).
      const failed = answer.response.diagnostics.errors.map(
        (error) => `${error.policyId}: ${error.error.message}`,
      );
      return {
        denial: deny(`policy evaluation failed: ${failed.join("; ")}`, {
          policies: answer.response.diagnostics.errors.map((error) => error.policyId),
        }),
        considered: slice.length,
        ...engine,
      };
    }
    return { response: answer.response, loaded, considered: slice.length, ...engine };
  }
}

/** What a policy set is loaded from. */
interface PolicySource {
  readonly policies: Readonly<Record<string, string>>;
  readonly schema?: string;
  readonly entityTypes?: Readonly<Record<string, string>>;
  readonly entities?: readonly unknown[];
}

function engineOf(outcome: Authorization): Pick<Explanation, "engine" | "engineReason"> {
  return outcome.engineReason === undefined
    ? { engine: outcome.engine }
    : { engine: outcome.engine, engineReason: outcome.engineReason };
}

function load(
  source: PolicySource & { schema: string },
  version: number,
  prefix: string,
  evaluator: CedarEvaluator,
): Loaded {
  const schema = loadSchema(source.schema, "schema");
  const entries = loadPolicies(
    Object.entries(source.policies).map(([file, text]) => ({ file, text })),
    source.schema,
  );
  let compiled: Loaded["compiled"];
  if (evaluator === "cedar-wasm")
    compiled = { reason: 'the client was built with evaluator: "cedar-wasm"' };
  else {
    try {
      compiled = compilePolicySet(
        entries.map((entry) => ({ id: entry.id, json: entry.json, text: entry.text })),
      );
    } catch (error) {
      if (!(error instanceof NotCompiled)) throw error;
      // Never dropped, never guessed: the whole set is decided by cedar-wasm, and says why.
      const entry = entries.find((candidate) => candidate.id === error.policyId);
      const where =
        entry === undefined ? "" : ` (${entry.file}:${entry.line ?? 1}, policy ${entry.id})`;
      compiled = { reason: `${error.message}${where} is not compiled` };
    }
  }
  return {
    compiled,
    version,
    schema,
    types: new EntityTypes(source.entityTypes),
    store:
      source.entities === undefined
        ? EntityStore.empty()
        : EntityStore.parse(source.entities, source.schema, ENTITIES_FILE),
    policies: entries,
    byId: new Map(entries.map((entry) => [entry.id, entry])),
    slices: new Map(),
    prefix,
  };
}

/**
 * The pre-parsed policy set of a slice, created once per distinct slice and kept with what its
 * policies read. At most MAX_SLICES are kept; when full, all are forgotten and their wasm-side
 * names reused, so the engine's memory stays bounded (a name is overwritten only once nothing
 * refers to it).
 */
function preparedSlice(
  loaded: Loaded,
  slice: readonly PolicyEntry[],
): { id: string; needs: Needs } {
  const key = slice.map((entry) => entry.id).join("\n");
  const known = loaded.slices.get(key);
  if (known !== undefined) return known;
  if (loaded.slices.size >= MAX_SLICES) loaded.slices.clear();
  const id = `${loaded.prefix}${loaded.slices.size}`;
  const result = cedar.preparsePolicySet(id, {
    staticPolicies: Object.fromEntries(slice.map((entry) => [entry.id, entry.text])),
  });
  if (result.type !== "success") {
    throw new AgentGateError(
      "policy_unavailable",
      `Cedar could not pre-parse a policy set: ${result.errors.map((error) => error.message).join("; ")}`,
    );
  }
  const prepared = {
    id,
    needs: slice.reduce((needs, entry) => mergeNeeds(needs, entry.needs), emptyNeeds()),
  };
  loaded.slices.set(key, prepared);
  return prepared;
}

/**
 * The context that crosses into wasm: the members the schema declares, narrowed to what the
 * slice's policies read. With the schema given at evaluation (action groups), cedar-wasm validates
 * the request against it, so every declared member must cross (as for entities below), or a
 * required member the policies do not read would be missing and a valid request refused.
 */
function contextFor(
  context: Record<string, unknown>,
  shape: Shape,
  needs: Needs,
  validated: boolean,
): unknown {
  const declared = prune(context, shape);
  return validated || needs.context === true ? declared : pickPaths(declared, needs.context);
}

function entitiesFor(
  request: AuthZenEvaluation,
  uids: CedarUids,
  loaded: Loaded,
  needs: Needs,
): cedar.EntityJson[] {
  // With the schema given at evaluation (action groups), cedar-wasm checks each entity against
  // it: every declared attribute must cross, or a required one the policies do not read would be
  // missing and the request refused.
  const all = loaded.schema.hasActionGroups;
  return cedarEntities(request, uids, loaded.schema, loaded.store, {
    principal: { attributes: all ? true : needs.principal, tags: needs.principalTags },
    resource: { attributes: all ? true : needs.resource, tags: needs.resourceTags },
  }) as unknown as cedar.EntityJson[];
}

/** The entities file of a policy directory (Cedar JSON entities). */
const ENTITIES_FILE = "entities.json";
/** The entity type table of a policy directory (`{ "identity": "User" }`). */
const ENTITY_TYPES_FILE = "entity-types.json";

function readDirectory(directory: string, schemaPath: string | undefined): PolicySource {
  const names = readdirSync(directory).sort();
  const policies: Record<string, string> = {};
  for (const name of names.filter((entry) => entry.endsWith(".cedar"))) {
    policies[name] = readFileSync(join(directory, name), "utf8");
  }
  const schemas = names.filter((entry) => entry.endsWith(".cedarschema"));
  const schemaFile =
    schemaPath ??
    (schemas.length === 1 ? join(directory, schemas[0] as string) : DEFAULT_SCHEMA_PATH);
  return {
    policies,
    schema: readFileSync(schemaFile, "utf8"),
    ...optionalJson(join(directory, ENTITIES_FILE), "entities", (value) => Array.isArray(value)),
    ...optionalJson(
      join(directory, ENTITY_TYPES_FILE),
      "entityTypes",
      (value) =>
        typeof value === "object" &&
        value !== null &&
        !Array.isArray(value) &&
        Object.values(value).every((name) => typeof name === "string"),
    ),
  };
}

/** `{ [key]: <the file's JSON> }` when the file exists; `policy_invalid` when it is not `valid`. */
function optionalJson(
  file: string,
  key: "entities" | "entityTypes",
  valid: (value: unknown) => boolean,
): Record<string, never> {
  if (!existsSync(file)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new AgentGateError("policy_invalid", `${file} is not JSON.`, { cause: error });
  }
  if (!valid(value))
    throw new AgentGateError(
      "policy_invalid",
      key === "entities"
        ? `${file}: expected an array of Cedar JSON entities.`
        : `${file}: expected an object of AuthZEN type → Cedar entity type, e.g. { "identity": "User" }.`,
    );
  return { [key]: value } as Record<string, never>;
}
