import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { TestClock } from "../testing/test-clock.js";
import { defineAgent, isAgentExpired, parseAgentRecord } from "./agent-record.js";
import { resumeAgent, suspendAgent } from "./agent-supervision.js";
import { MemoryReplayCache } from "./replay-cache.js";
import { MemoryRevocationList, RevocationIndex } from "./revocation-list.js";

// Each test pins down a check of the agent record, supervision, replay cache and revocation
// list that a mutation changed without any other test noticing (MUTATION.md).

const clock = new TestClock("2026-01-05T10:00:00.000Z");
const base = { id: "spiffe://acme.example/agent/bot", owner: "alice@acme.example" };

describe("agent records, exactly", () => {
  it("defineAgent fills every default and keeps what it is given", () => {
    expect(defineAgent(base, clock)).toEqual({
      id: "spiffe://acme.example/agent/bot",
      displayName: "bot",
      owner: "alice@acme.example",
      supervision: "autonomous",
      labels: {},
      maxScopes: [],
      createdAt: "2026-01-05T10:00:00.000Z",
    });
    const record = defineAgent(
      {
        ...base,
        displayName: "Bot",
        team: "support",
        purpose: "answers",
        supervision: "supervised",
        labels: { env: "prod" },
        maxScopes: ["crm:read", "crm:read", "crm:write"],
        expiresAt: new Date("2026-02-01T00:00:00.000Z"),
      },
      clock,
    );
    expect(record).toEqual({
      id: "spiffe://acme.example/agent/bot",
      displayName: "Bot",
      owner: "alice@acme.example",
      team: "support",
      purpose: "answers",
      supervision: "supervised",
      labels: { env: "prod" },
      maxScopes: ["crm:read", "crm:write"],
      createdAt: "2026-01-05T10:00:00.000Z",
      expiresAt: "2026-02-01T00:00:00.000Z",
    });
    expect(Object.isFrozen(record)).toBe(true);
    expect(Object.isFrozen(record.maxScopes)).toBe(true);
    expect(defineAgent({ ...base, expiresAt: "2026-03-01T00:00:00Z" }, clock).expiresAt).toBe(
      "2026-03-01T00:00:00Z",
    );
  });

  it("G55: every text field is bounded and refuses control and invisible characters", async () => {
    const record = defineAgent(base, clock);
    const bad: Array<Record<string, unknown>> = [
      { displayName: "" },
      { displayName: "x".repeat(129) },
      { owner: "x".repeat(257) },
      { team: "x".repeat(129) },
      { purpose: "x".repeat(1025) },
      { displayName: "a\u200bb" },
      { owner: "a\nb" },
      { team: "a\u2028b" },
      { purpose: "a\u2029b" },
      { labels: { "Bad Key": "v" } },
      { labels: { ok: "x".repeat(257) } },
      { maxScopes: ["Crm:read"] },
      { maxScopes: Array.from({ length: 257 }, (_, index) => `s${index}`) },
      { supervision: "root" },
      { suspendedFrom: "suspended" },
      { createdAt: "yesterday" },
    ];
    for (const change of bad) {
      await expectCode(() => parseAgentRecord({ ...record, ...change }), "invalid_agent_record");
    }
    expect(
      parseAgentRecord({ ...record, displayName: "x".repeat(128), owner: "o".repeat(256) }),
    ).toBeDefined();
    expect(parseAgentRecord({ ...record, team: undefined, purpose: undefined })).toEqual(record);
    await expectCode(() => parseAgentRecord(null), "invalid_agent_record");
    await expectCode(() => parseAgentRecord([record]), "invalid_agent_record");
  });

  it("a registration expires at its expiresAt, not a millisecond later", () => {
    const at = new TestClock("2026-01-05T10:00:00.000Z");
    const record = defineAgent({ ...base, expiresAt: "2026-01-05T10:00:01.000Z" }, at);
    expect(isAgentExpired(record, at)).toBe(false);
    at.advance(999);
    expect(isAgentExpired(record, at)).toBe(false);
    at.advance(1);
    expect(isAgentExpired(record, at)).toBe(true);
    expect(isAgentExpired(defineAgent(base, at), at)).toBe(false);
  });

  it("D37: suspending remembers the state before; suspending twice keeps it; resuming restores it", async () => {
    const supervised = defineAgent({ ...base, supervision: "supervised" }, clock);
    const suspended = suspendAgent(supervised);
    expect(suspended.supervision).toBe("suspended");
    expect(suspended.suspendedFrom).toBe("supervised");
    expect(suspendAgent(suspended)).toBe(suspended);
    const resumed = resumeAgent(suspended);
    expect(resumed.supervision).toBe("supervised");
    expect(resumed.suspendedFrom).toBeUndefined();
    expect(resumeAgent(suspended, "autonomous").supervision).toBe("autonomous");
    await expectCode(() => resumeAgent(supervised), "invalid_agent_record");
  });
});

describe("MemoryReplayCache, exactly", () => {
  it("D34: an id is refused until it expires, then accepted again", () => {
    const at = new TestClock("2026-01-05T10:00:00.000Z");
    const cache = new MemoryReplayCache({ clock: at });
    const now = at.now() / 1000;
    expect(cache.remember("a", now + 10)).toBe(true);
    expect(cache.remember("a", now + 10)).toBe(false);
    expect(cache.remember("b", now + 10)).toBe(true);
    at.advance(9_999);
    expect(cache.remember("a", now + 20)).toBe(false);
    at.advance(1);
    expect(cache.remember("a", now + 20)).toBe(true);
  });

  it("D34: a full cache prunes what has expired, and refuses rather than forget a live id", () => {
    const at = new TestClock("2026-01-05T10:00:00.000Z");
    const cache = new MemoryReplayCache({ clock: at, maxEntries: 2 });
    const now = at.now() / 1000;
    expect(cache.remember("a", now + 1)).toBe(true);
    expect(cache.remember("b", now + 100)).toBe(true);
    expect(cache.remember("c", now + 100)).toBe(false);
    at.advance(1_000);
    // "a" expired exactly now: pruned, so "c" fits; "b" is still live and remembered.
    expect(cache.remember("c", now + 100)).toBe(true);
    expect(cache.remember("b", now + 100)).toBe(false);
    expect(cache.remember("d", now + 100)).toBe(false);
  });
});

describe("revocation lists, exactly", () => {
  it("D35: revoking records the time and reason, once per kind and id, and bumps the version", async () => {
    const list = new MemoryRevocationList({ clock });
    expect(list.version()).toBe(0);
    expect(await list.revoke("token", "t1")).toEqual({
      kind: "token",
      id: "t1",
      revokedAt: "2026-01-05T10:00:00.000Z",
    });
    expect(list.version()).toBe(1);
    expect(await list.revoke("key", "k1", "leaked")).toEqual({
      kind: "key",
      id: "k1",
      revokedAt: "2026-01-05T10:00:00.000Z",
      reason: "leaked",
    });
    expect(list.isRevoked("token", "t1")).toBe(true);
    expect(list.isRevoked("agent", "t1")).toBe(false);
    expect(list.isRevoked("key", "k1")).toBe(true);
    expect((await list.list()).map((entry) => entry.id)).toEqual(["t1", "k1"]);
    const index = new RevocationIndex();
    const entry = { kind: "agent" as const, id: "a", revokedAt: "x" };
    expect(index.add(entry)).toBe(true);
    expect(index.add({ ...entry, revokedAt: "y" })).toBe(false);
    expect(index.list()).toEqual([entry]);
    expect(index.add({ kind: "__proto__" as never, id: "a", revokedAt: "x" })).toBe(false);
    const listed = index.list();
    listed.pop();
    expect(index.list()).toEqual([entry]);
  });
});
