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
}

/** Options of {@link CedarPolicyClient.fromDirectory}. */
export interface CedarDirectoryOptions {
  /** The schema file. Default: the only `*.cedarschema` in the directory, else the shipped one. */
  readonly schemaPath?: string;
  /** Reload when a file changes, keeping the last good set when a reload fails. Default `false`. */
  readonly watch?: boolean;
  /** See {@link CedarPolicyClientOptions.slicing}. Default `true`. */
  readonly slicing?: boolean;
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
}

/** A decided request: a denial found before or during evaluation, or Cedar's answer. */
type Authorization =
  | { readonly denial: Decision; readonly considered: number }
  | {
      readonly response: { decision: "allow" | "deny"; diagnostics: { reason: string[] } };
      readonly loaded: Loaded;
      readonly considered: number;
    };

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
  readonly #prefix = `agentgate-${++clientCounter}-`;
  #watcher: FSWatcher | undefined;
  #lastReloadError: AgentGateError | undefined;

  constructor(options: CedarPolicyClientOptions) {
    this.#slicing = options.slicing ?? true;
    this.#loaded = load(
      {
        policies: options.policies,
        schema: options.schema ?? readFileSync(DEFAULT_SCHEMA_PATH, "utf8"),
        ...(options.entityTypes === undefined ? {} : { entityTypes: options.entityTypes }),
        ...(options.entities === undefined ? {} : { entities: options.entities }),
      },
      1,
      this.#prefix,
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
      this.#loaded = load(
        { ...next, schema: next.schema ?? this.#loaded.schema.text },
        this.#loaded.version + 1,
        this.#prefix,
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
    };
  }

  async close(): Promise<void> {
    this.#watcher?.close();
  }

  #authorize(request: AuthZenEvaluation): Authorization {
    const loaded = this.#loaded;
    const uids = cedarUids(request, loaded.types);
    if (typeof uids === "string") return { denial: deny(uids), considered: 0 };
    const shape = loaded.schema.contexts.get(uids.action.id);
    if (shape === undefined) {
      return {
        denial: deny(`action "${uids.action.id}" is not declared in the Cedar schema`),
        considered: 0,
      };
    }
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
        context: contextFor(request.context ?? {}, shape, prepared.needs) as Record<string, never>,
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
      };
    }
    return { response: answer.response, loaded, considered: slice.length };
  }
}

/** What a policy set is loaded from. */
interface PolicySource {
  readonly policies: Readonly<Record<string, string>>;
  readonly schema?: string;
  readonly entityTypes?: Readonly<Record<string, string>>;
  readonly entities?: readonly unknown[];
}

function load(source: PolicySource & { schema: string }, version: number, prefix: string): Loaded {
  const schema = loadSchema(source.schema, "schema");
  const entries = loadPolicies(
    Object.entries(source.policies).map(([file, text]) => ({ file, text })),
    source.schema,
  );
  return {
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

function contextFor(context: Record<string, unknown>, shape: Shape, needs: Needs): unknown {
  const declared = prune(context, shape);
  return needs.context === true ? declared : pickPaths(declared, needs.context);
}

function entitiesFor(
  request: AuthZenEvaluation,
  uids: CedarUids,
  loaded: Loaded,
  needs: Needs,
): cedar.EntityJson[] {
  return cedarEntities(request, uids, loaded.schema, loaded.store, {
    principal: { attributes: needs.principal, tags: needs.principalTags },
    resource: { attributes: needs.resource, tags: needs.resourceTags },
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
