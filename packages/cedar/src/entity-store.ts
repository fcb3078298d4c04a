import { AgentGateError } from "@agentgate/core";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { z } from "zod";

/** A Cedar entity uid. */
export interface EntityUid {
  readonly type: string;
  readonly id: string;
}

/** A stored entity, in Cedar's JSON entity format. */
export interface StoredEntity {
  readonly uid: EntityUid;
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly parents: readonly EntityUid[];
  readonly tags?: Readonly<Record<string, unknown>>;
}

const uid = z.strictObject({ type: z.string().min(1), id: z.string() });
const entities = z.array(
  z.strictObject({
    uid,
    attrs: z.record(z.string(), z.unknown()).default({}),
    parents: z.array(uid).default([]),
    tags: z.record(z.string(), z.unknown()).optional(),
  }),
);

const key = (entity: EntityUid) => `${entity.type}::${JSON.stringify(entity.id)}`;

/**
 * The entities a PDP knows besides what each request says: users and their roles (as parents),
 * documents, routes. In Cedar's JSON entity format, validated against the schema when loaded.
 * What the store says of an entity is authoritative over a request's properties, and its parents
 * (transitively) are what `principal in Role::"editor"` reads.
 */
export class EntityStore {
  readonly #byKey = new Map<string, StoredEntity>();
  readonly #byType = new Map<string, StoredEntity[]>();

  private constructor(list: readonly StoredEntity[]) {
    for (const entity of list) {
      this.#byKey.set(key(entity.uid), entity);
      const ofType = this.#byType.get(entity.uid.type) ?? [];
      ofType.push(entity);
      this.#byType.set(entity.uid.type, ofType);
    }
  }

  /** An empty store. */
  static empty(): EntityStore {
    return new EntityStore([]);
  }

  /**
   * Reads Cedar JSON entities; throws `policy_invalid` naming `source` when they are malformed,
   * repeat a uid, or do not fit the schema.
   */
  static parse(json: unknown, schema: string, source: string): EntityStore {
    const parsed = entities.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AgentGateError(
        "policy_invalid",
        `${source}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message ?? "invalid"}. Expected Cedar JSON entities: [{ "uid": { "type", "id" }, "attrs", "parents" }].`,
      );
    }
    const seen = new Set<string>();
    for (const entity of parsed.data) {
      if (seen.has(key(entity.uid)))
        throw new AgentGateError("policy_invalid", `${source}: ${key(entity.uid)} appears twice.`);
      seen.add(key(entity.uid));
    }
    const checked = cedar.checkParseEntities({
      entities: parsed.data as cedar.EntityJson[],
      schema,
    });
    if (checked.type !== "success") {
      throw new AgentGateError(
        "policy_invalid",
        `${source}: ${checked.errors.map((error) => error.message).join("; ")}`,
      );
    }
    return new EntityStore(parsed.data);
  }

  /** How many entities the store holds. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The stored entity with this uid. */
  get(type: string, id: string): StoredEntity | undefined {
    return this.#byKey.get(key({ type, id }));
  }

  /** Every stored entity of a Cedar type, in file order. */
  ofType(type: string): readonly StoredEntity[] {
    return this.#byType.get(type) ?? [];
  }

  /** The stored ancestors of the entities given (parents of parents...), each once. */
  ancestors(from: readonly EntityUid[]): StoredEntity[] {
    const found = new Map<string, StoredEntity>();
    const queue = [...from];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const stored = this.#byKey.get(key(next));
      if (stored === undefined) continue;
      for (const parent of stored.parents) {
        const parentKey = key(parent);
        const entity = this.#byKey.get(parentKey);
        if (entity === undefined || found.has(parentKey)) continue;
        found.set(parentKey, entity);
        queue.push(parent);
      }
    }
    return [...found.values()];
  }
}
