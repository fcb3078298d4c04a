import { AgentGateError } from "../errors.js";
import type { VerifiedAgent } from "../identity/agent-token.js";
import type { InvocationContext } from "./tool-invocation.js";

interface ContextStore<T> {
  run<R>(value: T, callback: () => R): R;
  getStore(): T | undefined;
}

type AsyncLocalStorageClass = new <T>() => ContextStore<T>;

/**
 * Async context without a static `node:` import, so the core also loads on edge runtimes:
 * Node ≥ 20.16, Deno and Workers with Node compatibility expose `process.getBuiltinModule`;
 * some edge runtimes expose `AsyncLocalStorage` as a global.
 */
function findAsyncLocalStorage(): AsyncLocalStorageClass | undefined {
  const scope = globalThis as {
    process?: {
      getBuiltinModule?: (id: string) => { AsyncLocalStorage?: AsyncLocalStorageClass } | undefined;
    };
    AsyncLocalStorage?: AsyncLocalStorageClass;
  };
  return (
    scope.process?.getBuiltinModule?.("node:async_hooks")?.AsyncLocalStorage ??
    scope.AsyncLocalStorage
  );
}

const AsyncLocalStorage = findAsyncLocalStorage();
const store: ContextStore<InvocationContext> | undefined =
  AsyncLocalStorage && new AsyncLocalStorage();

/** Runs `callback` with `context` as the current invocation (visible across awaits). */
export function runWithInvocation<R>(context: InvocationContext, callback: () => R): R {
  return store === undefined ? callback() : store.run(context, callback);
}

/** The invocation the calling code runs inside, if any. */
export function currentInvocation(): InvocationContext | undefined {
  return store?.getStore();
}

/**
 * The verified identity of the agent whose tool call is running: inside a tool, "who am I acting
 * as". Each concurrent call sees its own agent (SECURITY.md J72). Throws
 * `invalid_configuration` outside a gated call or on a runtime without async context.
 *
 * @example
 * ```ts
 * const lookup = async ({ customerId }) => crm.get(customerId, { onBehalfOf: currentAgent().principal.id });
 * ```
 */
export function currentAgent(): VerifiedAgent {
  const context = store?.getStore();
  if (context === undefined) {
    throw new AgentGateError(
      "invalid_configuration",
      store === undefined
        ? "currentAgent() needs async context (AsyncLocalStorage), which this runtime lacks."
        : "currentAgent() was called outside a tool call run by the gate.",
    );
  }
  return context.agent;
}
