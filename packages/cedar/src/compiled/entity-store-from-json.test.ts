import { describe, expect, it } from "vitest";
import { EntityUid, entityStoreFromJson } from "./values.js";

const uid = (type: string, id: string) => ({ type, id });
const key = (type: string, id: string) => new EntityUid(type, id).key;

describe("entityStoreFromJson", () => {
  it("closes the hierarchy transitively, whatever order the entities come in", () => {
    const store = entityStoreFromJson([
      { uid: uid("User", "alice"), parents: [uid("Team", "support")] },
      { uid: uid("Org", "acme") },
      { uid: uid("Team", "support"), parents: [uid("Org", "acme")] },
    ]);
    expect([...(store.get(key("User", "alice"))?.ancestors ?? [])].sort()).toEqual(
      [key("Org", "acme"), key("Team", "support")].sort(),
    );
    expect(store.get(key("Org", "acme"))?.ancestors.size).toBe(0);
  });

  it("keeps the last of an entity given twice, its parents included", () => {
    const store = entityStoreFromJson([
      { uid: uid("User", "alice"), attrs: { level: 1 }, parents: [uid("Team", "a")] },
      { uid: uid("User", "alice"), attrs: { level: 2 } },
    ]);
    expect(store.size).toBe(1);
    expect(store.get(key("User", "alice"))?.attrs).toEqual({ level: 2 });
    expect(store.get(key("User", "alice"))?.ancestors.size).toBe(0);
  });

  it("adds the extra entities' parents to what the list gives", () => {
    const action = new EntityUid("Action", "read");
    const store = entityStoreFromJson(
      [{ uid: uid("User", "alice") }],
      [{ uid: action, parents: [new EntityUid("Action", "any")] }],
    );
    expect([...(store.get(action.key)?.ancestors ?? [])]).toEqual([key("Action", "any")]);
    expect(store.get(key("User", "alice"))?.ancestors.size).toBe(0);
  });
});
