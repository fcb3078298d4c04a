import { AgentGateError } from "@agentgate/core";

/**
 * The AuthZEN types that have a Cedar entity type of their own by default. Any other type maps
 * to its name with the first letter upper-cased (`todo` → `Todo`, `route` → `Route`).
 */
export const DEFAULT_ENTITY_TYPES: Readonly<Record<string, string>> = Object.freeze({
  agent: "Agent",
  user: "User",
  tool: "Tool",
});

const CEDAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Maps AuthZEN subject and resource types to Cedar entity types: the table given (for example
 * `{ "identity": "User" }`) over {@link DEFAULT_ENTITY_TYPES}, then the type's own name
 * capitalised. Types are never collapsed: `user` "alice" and `agent` "alice" are `User::"alice"`
 * and `Agent::"alice"`, two principals (SECURITY.md L91).
 */
export class EntityTypes {
  readonly #table: Readonly<Record<string, string>>;
  readonly #memo = new Map<string, string | undefined>();

  /** Throws `policy_invalid` when the table maps a type to a name Cedar cannot have. */
  constructor(table: Readonly<Record<string, string>> = {}) {
    for (const [from, to] of Object.entries(table)) {
      if (!CEDAR_NAME.test(to))
        throw new AgentGateError(
          "policy_invalid",
          `Entity type table: "${from}" maps to "${to}", which is not a Cedar entity type name.`,
        );
    }
    this.#table = { ...DEFAULT_ENTITY_TYPES, ...table };
  }

  /** The Cedar entity type of an AuthZEN type, or `undefined` when it cannot be one. */
  cedarType(type: string): string | undefined {
    if (this.#memo.has(type)) return this.#memo.get(type);
    const mapped = Object.hasOwn(this.#table, type)
      ? this.#table[type]
      : `${type.charAt(0).toUpperCase()}${type.slice(1)}`;
    const valid = mapped !== undefined && CEDAR_NAME.test(mapped) ? mapped : undefined;
    if (this.#memo.size >= 1024) this.#memo.clear();
    this.#memo.set(type, valid);
    return valid;
  }
}
