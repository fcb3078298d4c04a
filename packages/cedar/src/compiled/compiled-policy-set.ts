import {
  type Compiled,
  compileExpression,
  type Environment,
  isIn,
  NotCompiled,
  withExactLongs,
} from "./compile-expression.js";
import { CedarEvaluationError, type CedarValue, type EntityUid, uidFromJson } from "./values.js";

/** A policy in Cedar's JSON form (`policyToJson`), with the id it answers under. */
export interface PolicySource {
  readonly id: string;
  readonly json: unknown;
  /** Its Cedar text: where the exact value of an integer literal beyond 2^53 is read from. */
  readonly text?: string;
}

/** Cedar's answer: the decision, the determining policies, the policies that errored. */
export interface CompiledAnswer {
  readonly decision: "allow" | "deny";
  readonly reasons: string[];
  readonly errors: Array<{ policyId: string; message: string }>;
  /** Policies whose scope matched the request (what was evaluated past the scope). */
  readonly considered: number;
}

/** A compiled policy set: Cedar's authorizer over JS closures, its policies indexed by scope. */
export interface CompiledPolicySet {
  /** Throws `NeedsWasm` when the request holds a value this evaluator does not compute. */
  authorize(env: Environment): CompiledAnswer;
  /** Policies the index never rules out (no `==`, `in` or `is` on any scope variable). */
  readonly unindexed: number;
}

interface CompiledPolicy {
  readonly id: string;
  readonly forbid: boolean;
  /** Filed under more than one key. */
  readonly shared: boolean;
  /** 0: the scope rules the request out, 1: the conditions do not hold, 2: satisfied. Throws where Cedar's evaluation errors. */
  readonly satisfied: (env: Environment) => 0 | 1 | 2;
}

type Variable = "principal" | "action" | "resource";
type Scope = {
  readonly test: (uid: EntityUid, env: Environment) => boolean;
  readonly keys: string[];
};

/**
 * Compiles a policy set, or throws {@link NotCompiled} naming the policy and the construct the
 * compiler does not handle (the caller then evaluates the set through cedar-wasm). Each policy
 * is filed under one scope variable it constrains (`==`, `in`, `is`), so a request looks at the
 * policies filed under its own principal, action and resource (and their ancestors and types)
 * plus those constraining none: the cost of a decision follows what can apply, not the set's size.
 */
export function compilePolicySet(policies: readonly PolicySource[]): CompiledPolicySet {
  const indexes: Record<Variable, Map<string, CompiledPolicy[]>> = {
    principal: new Map(),
    action: new Map(),
    resource: new Map(),
  };
  const unindexed: CompiledPolicy[] = [];
  for (const { id, json, text } of policies) {
    let compiled: {
      policy: CompiledPolicy;
      filed: { variable: Variable; keys: string[] } | undefined;
    };
    try {
      compiled = withExactLongs(text, () => compilePolicy(id, json));
    } catch (error) {
      if (error instanceof NotCompiled) throw new NotCompiled(error.message, id);
      throw error;
    }
    if (compiled.filed === undefined) unindexed.push(compiled.policy);
    else {
      const index = indexes[compiled.filed.variable];
      for (const key of new Set(compiled.filed.keys)) {
        const bucket = index.get(key);
        if (bucket === undefined) index.set(key, [compiled.policy]);
        else bucket.push(compiled.policy);
      }
    }
  }
  return {
    unindexed: unindexed.length,
    authorize(env) {
      const answer = new Evaluation();
      answer.run(unindexed, env);
      for (const variable of ["principal", "action", "resource"] as const) {
        const index = indexes[variable];
        if (index.size === 0) continue;
        const uid = env[variable];
        answer.run(index.get(uid.key), env);
        answer.run(index.get(typeKey(uid.type)), env);
        const ancestors = env.entities.get(uid.key)?.ancestors;
        if (ancestors !== undefined)
          for (const key of ancestors) if (key !== uid.key) answer.run(index.get(key), env);
      }
      return answer.result();
    },
  };
}

class Evaluation {
  readonly #permits: string[] = [];
  readonly #forbids: string[] = [];
  readonly #errors: Array<{ policyId: string; message: string }> = [];
  #considered = 0;
  #seen: Set<CompiledPolicy> | undefined;

  run(bucket: readonly CompiledPolicy[] | undefined, env: Environment): void {
    if (bucket === undefined) return;
    for (const policy of bucket) {
      // A policy filed under several keys (an `in` over a list) is evaluated once.
      if (policy.shared) {
        this.#seen ??= new Set();
        if (this.#seen.has(policy)) continue;
        this.#seen.add(policy);
      }
      try {
        const outcome = policy.satisfied(env);
        if (outcome > 0) this.#considered++;
        if (outcome === 2) (policy.forbid ? this.#forbids : this.#permits).push(policy.id);
      } catch (error) {
        this.#considered++;
        if (!(error instanceof CedarEvaluationError)) throw error;
        this.#errors.push({ policyId: policy.id, message: error.message });
      }
    }
  }

  result(): CompiledAnswer {
    // Forbid overrides permit; nothing satisfied is a deny (Cedar's authorizer).
    const considered = this.#considered;
    if (this.#forbids.length > 0)
      return { decision: "deny", reasons: this.#forbids, errors: this.#errors, considered };
    if (this.#permits.length > 0)
      return { decision: "allow", reasons: this.#permits, errors: this.#errors, considered };
    return { decision: "deny", reasons: [], errors: this.#errors, considered };
  }
}

function typeKey(type: string): string {
  return `is ${type}`;
}

function compilePolicy(
  id: string,
  json: unknown,
): { policy: CompiledPolicy; filed: { variable: Variable; keys: string[] } | undefined } {
  const spec = json as {
    effect: unknown;
    principal: unknown;
    action: unknown;
    resource: unknown;
    conditions: unknown;
  };
  if (spec.effect !== "permit" && spec.effect !== "forbid") throw new NotCompiled("effect");
  const scopes = {
    principal: scopeOf(spec.principal, "principal"),
    action: scopeOf(spec.action, "action"),
    resource: scopeOf(spec.resource, "resource"),
  };
  if (!Array.isArray(spec.conditions)) throw new NotCompiled("conditions");
  const conditions: Array<{ when: boolean; body: Compiled }> = spec.conditions.map((clause) => {
    const { kind, body } = clause as { kind: unknown; body: unknown };
    if (kind !== "when" && kind !== "unless") throw new NotCompiled("condition kind");
    return { when: kind === "when", body: compileExpression(body) };
  });
  const principal = scopes.principal.test;
  const action = scopes.action.test;
  const resource = scopes.resource.test;
  // Cedar's policy condition: principal && action && resource && when… && !unless…, in order.
  const satisfied = (env: Environment): 0 | 1 | 2 => {
    if (!principal(env.principal, env) || !action(env.action, env) || !resource(env.resource, env))
      return 0;
    for (const condition of conditions) {
      const value: CedarValue = condition.body(env);
      if (typeof value !== "boolean") throw boolError(value);
      if (value !== condition.when) return 1;
    }
    return 2;
  };
  const filed = (["principal", "resource", "action"] as const).find(
    (variable) => scopes[variable].keys.length > 0,
  );
  const shared = filed !== undefined && new Set(scopes[filed].keys).size > 1;
  return {
    policy: { id, forbid: spec.effect === "forbid", shared, satisfied },
    filed: filed === undefined ? undefined : { variable: filed, keys: scopes[filed].keys },
  };
}

function boolError(value: CedarValue): Error {
  // An extension value where a boolean belongs is still a type error in Cedar.
  void value;
  return new CedarEvaluationError("type error: a condition must be a boolean");
}

function scopeOf(json: unknown, variable: Variable): Scope {
  const constraint = json as {
    op?: unknown;
    entity?: unknown;
    entities?: unknown;
    entity_type?: unknown;
    in?: unknown;
    slot?: unknown;
  };
  if (typeof constraint !== "object" || constraint === null) throw new NotCompiled("scope");
  if (constraint.slot !== undefined) throw new NotCompiled("a template slot");
  switch (constraint.op) {
    case "All":
      return { test: () => true, keys: [] };
    case "==": {
      const target = uid(constraint.entity);
      return { test: (value) => value.key === target.key, keys: [target.key] };
    }
    case "in": {
      if (constraint.entities !== undefined) {
        if (variable !== "action" || !Array.isArray(constraint.entities))
          throw new NotCompiled("scope");
        const targets = constraint.entities.map(uid);
        return {
          test: (value, env) => isIn(value, targets, env.entities),
          keys: targets.map((target) => target.key),
        };
      }
      const target = uid(constraint.entity);
      return { test: (value, env) => isIn(value, target, env.entities), keys: [target.key] };
    }
    case "is": {
      if (typeof constraint.entity_type !== "string") throw new NotCompiled("scope");
      const type = constraint.entity_type;
      if (constraint.in === undefined)
        return { test: (value) => value.type === type, keys: [typeKey(type)] };
      const within = constraint.in as { entity?: unknown; slot?: unknown };
      if (within.slot !== undefined) throw new NotCompiled("a template slot");
      const target = uid(within.entity);
      return {
        test: (value, env) => value.type === type && isIn(value, target, env.entities),
        keys: [target.key],
      };
    }
    default:
      throw new NotCompiled("scope");
  }
}

function uid(json: unknown): EntityUid {
  try {
    return uidFromJson(json);
  } catch {
    throw new NotCompiled("scope entity");
  }
}
