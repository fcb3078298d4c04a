import { describe, expect, it } from "vitest";
import { defineAgent, parseAgentRecord } from "./agent-record.js";
import { MemoryAgentRegistry } from "./agent-registry.js";
import { actClaimOf } from "./agent-token.js";
import { checkMetadataUrl } from "./metadata-url.js";
import { createRevocation } from "./revocation-list.js";

// Mutation tests of the identity group's small pieces (MUTATION.md, group `identity`): the
// memory registry's listing, where a malformed record's problem is, members left out rather than
// set to undefined, and IPv6 literals without a `::` and names that start like an IPv4 address.

const SUPPORT = "spiffe://acme.example/agent/support";

describe("identity helpers, exactly", () => {
  it("MemoryAgentRegistry starts empty and lists what it holds", async () => {
    expect(await new MemoryAgentRegistry().list()).toEqual([]);
    const record = defineAgent({ id: SUPPORT, owner: "a@acme.example" });
    const registry = new MemoryAgentRegistry([record]);
    expect(await registry.list()).toEqual([record]);
  });

  it("a malformed record's message names the member, or the record itself", () => {
    const record = defineAgent({ id: SUPPORT, owner: "a@acme.example" });
    expect(() => parseAgentRecord({ ...record, owner: "" })).toThrow(
      /^Invalid agent record: owner: /,
    );
    expect(() => parseAgentRecord(null)).toThrow(/^Invalid agent record: record: /);
    expect(() => parseAgentRecord({ ...record, labels: { a: "" } })).toThrow(
      /^Invalid agent record: labels\.a: /,
    );
  });

  it("no act member on the innermost actor, no reason member without a reason", () => {
    expect(actClaimOf(["a", "b"])?.act).not.toHaveProperty("act");
    expect(actClaimOf(["a"])).not.toHaveProperty("act");
    expect(createRevocation("token", "t", undefined, { now: () => 0 })).not.toHaveProperty(
      "reason",
    );
  });

  it("I67: an IPv6 literal of eight groups without :: is read group by group", () => {
    expect(checkMetadataUrl("https://[1:2:3:4:5:6:7:8]/").hostname).toBe("[1:2:3:4:5:6:7:8]");
    expect(() => checkMetadataUrl("https://[fe80:2:3:4:5:6:7:8]/")).toThrow(/loopback, private/);
  });

  it("I67: a name that starts with a private IPv4 address is a name, not the address", () => {
    expect(checkMetadataUrl("https://10.0.0.1.acme.example/").hostname).toBe(
      "10.0.0.1.acme.example",
    );
  });
});
