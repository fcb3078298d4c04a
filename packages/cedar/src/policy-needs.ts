/**
 * What a policy reads from a request: which context paths, which principal and resource
 * attributes, whether principal tags. Cedar's per-call cost is the JSON that crosses into wasm,
 * so each request carries only what the policies of its slice can read. Anything not
 * understood falls back to "everything", and a value a policy reads but the request lacks makes
 * that policy error, which denies: pruning can only ever cost an allow, never grant one.
 */
export interface Needs {
  /** Context paths; `true` means the whole context. */
  context: PathTree | true;
  /** Attribute names; `true` means all. */
  principal: Set<string> | true;
  resource: Set<string> | true;
  principalTags: boolean;
  resourceTags: boolean;
}

/** A tree of member names; a node with `whole` keeps its entire value. */
export interface PathTree {
  whole: boolean;
  children: Map<string, PathTree>;
}

type Node = Record<string, unknown>;

export function emptyNeeds(): Needs {
  return {
    context: tree(),
    principal: new Set(),
    resource: new Set(),
    principalTags: false,
    resourceTags: false,
  };
}

/** Adds what the policy (Cedar's JSON form of its conditions) reads to `needs`. */
export function collectNeeds(conditions: readonly unknown[], needs: Needs): Needs {
  for (const clause of conditions) walk((clause as { body: unknown }).body, needs, false);
  return needs;
}

/** Merges `from` into `into`. */
export function mergeNeeds(into: Needs, from: Needs): Needs {
  into.context =
    into.context === true || from.context === true ? true : mergeTree(into.context, from.context);
  into.principal =
    into.principal === true || from.principal === true
      ? true
      : new Set([...into.principal, ...from.principal]);
  into.resource =
    into.resource === true || from.resource === true
      ? true
      : new Set([...into.resource, ...from.resource]);
  into.principalTags ||= from.principalTags;
  into.resourceTags ||= from.resourceTags;
  return into;
}

/** Keeps only the paths of `tree` in `value`. */
export function pickPaths(value: unknown, paths: PathTree): unknown {
  if (paths.whole || typeof value !== "object" || value === null || Array.isArray(value))
    return value;
  const out: Record<string, unknown> = {};
  for (const [name, child] of paths.children) {
    if (Object.hasOwn(value, name))
      out[name] = pickPaths((value as Record<string, unknown>)[name], child);
  }
  return out;
}

function tree(): PathTree {
  return { whole: false, children: new Map() };
}

function mergeTree(into: PathTree, from: PathTree): PathTree {
  into.whole ||= from.whole;
  for (const [name, child] of from.children) {
    const existing = into.children.get(name);
    into.children.set(
      name,
      existing === undefined ? mergeTree(tree(), child) : mergeTree(existing, child),
    );
  }
  return into;
}

/** The `Var` and member names of a chain like `context.time.hour`, or undefined. */
function chainOf(expression: unknown): { root: string; path: string[] } | undefined {
  const node = expression as Node;
  if (typeof node !== "object" || node === null) return undefined;
  if (typeof node.Var === "string") return { root: node.Var, path: [] };
  const dot = node["."] as { left: unknown; attr: string } | undefined;
  if (dot === undefined) return undefined;
  const inner = chainOf(dot.left);
  return inner === undefined ? undefined : { root: inner.root, path: [...inner.path, dot.attr] };
}

function record(needs: Needs, root: string, path: string[], whole: boolean): void {
  if (root === "context") {
    if (path.length === 0) {
      if (whole) needs.context = true;
      return;
    }
    if (needs.context === true) return;
    let node = needs.context;
    for (const name of path) {
      let child = node.children.get(name);
      if (child === undefined) {
        child = tree();
        node.children.set(name, child);
      }
      node = child;
    }
    node.whole ||= whole;
  } else if (root === "principal" || root === "resource") {
    const first = path[0];
    if (first === undefined) return; // the entity itself (==, in, is): no attributes needed
    const set = needs[root];
    if (set !== true) set.add(first);
  }
}

function walk(expression: unknown, needs: Needs, asPrefix: boolean): void {
  if (typeof expression !== "object" || expression === null) return;
  if (Array.isArray(expression)) {
    for (const item of expression) walk(item, needs, false);
    return;
  }
  const node = expression as Node;
  if (typeof node.Var === "string") {
    if (!asPrefix && node.Var === "context") needs.context = true;
    return;
  }
  const chain = chainOf(node);
  if (chain !== undefined && node["."] !== undefined) {
    record(needs, chain.root, chain.path, !asPrefix);
    return;
  }
  const has = node.has as { left: unknown; attr: string | string[] } | undefined;
  if (has !== undefined) {
    const left = chainOf(has.left);
    const attrs = Array.isArray(has.attr) ? has.attr : [has.attr];
    if (left !== undefined) record(needs, left.root, [...left.path, ...attrs], false);
    else walk(has.left, needs, false);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if ((key === "getTag" || key === "hasTag") && typeof value === "object" && value !== null) {
      const left = chainOf((value as { left: unknown }).left);
      if (left?.root === "principal") needs.principalTags = true;
      else if (left?.root === "resource") needs.resourceTags = true;
      else {
        needs.principalTags = true;
        needs.resourceTags = true;
      }
    }
    walk(value, needs, false);
  }
}
