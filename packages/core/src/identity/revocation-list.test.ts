import { describe, expect, it } from "vitest";
import { MemoryRevocationList, type Revocation, RevocationIndex } from "./revocation-list.js";

const entry = (kind: string, id: string): Revocation =>
  ({ kind, id, revokedAt: "2026-01-05T09:00:00.000Z" }) as Revocation;

describe("RevocationIndex", () => {
  it("keys by kind and id, keeps the first revocation, lists oldest first", () => {
    const index = new RevocationIndex();
    expect(index.add(entry("token", "t1"))).toBe(true);
    expect(index.add(entry("agent", "t1"))).toBe(true);
    expect(index.add({ ...entry("token", "t1"), reason: "again" })).toBe(false);
    expect(index.has("token", "t1")).toBe(true);
    expect(index.has("key", "t1")).toBe(false);
    expect(index.list().map((revocation) => revocation.kind)).toEqual(["token", "agent"]);
  });

  it("ignores kinds it does not know, including prototype member names from a feed", () => {
    const index = new RevocationIndex();
    for (const kind of ["__proto__", "constructor", "toString", "session"]) {
      expect(index.add(entry(kind, "x"))).toBe(false);
      expect(index.has(kind as Revocation["kind"], "x")).toBe(false);
    }
    expect(index.list()).toEqual([]);
  });
});

describe("MemoryRevocationList", () => {
  it("revokes by kind and changes its version", async () => {
    const list = new MemoryRevocationList();
    const before = list.version();
    await list.revoke("agent", "spiffe://acme.example/agent/a", "left the team");
    expect(list.isRevoked("agent", "spiffe://acme.example/agent/a")).toBe(true);
    expect(list.isRevoked("token", "spiffe://acme.example/agent/a")).toBe(false);
    expect(list.version()).not.toBe(before);
  });
});
