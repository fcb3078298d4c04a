import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import { AgentId } from "./agent-id.js";

describe("AgentId", () => {
  it("parses and formats the canonical SPIFFE form", () => {
    const id = AgentId.parse("spiffe://acme.example/agent/support/triage-1");
    expect(id.trustDomain).toBe("acme.example");
    expect(id.name).toBe("support/triage-1");
    expect(id.toString()).toBe("spiffe://acme.example/agent/support/triage-1");
    expect(JSON.stringify({ id })).toBe('{"id":"spiffe://acme.example/agent/support/triage-1"}');
    expect(
      AgentId.of("acme.example", "support").equals("spiffe://acme.example/agent/support"),
    ).toBe(true);
  });

  const invalid: Array<[string, string]> = [
    ["uppercase trust domain", "spiffe://ACME.example/agent/support"],
    ["uppercase name (case variant)", "spiffe://acme.example/agent/Support"],
    ["dot segment", "spiffe://acme.example/agent/../admin"],
    ["single dot segment", "spiffe://acme.example/agent/./support"],
    ["empty segment", "spiffe://acme.example/agent//support"],
    ["trailing slash", "spiffe://acme.example/agent/support/"],
    ["percent-encoding", "spiffe://acme.example/agent/supp%6Frt"],
    ["zero-width space", "spiffe://acme.example/agent/sup\u200bport"],
    ["zero-width joiner in trust domain", "spiffe://acme\u200d.example/agent/support"],
    ["Cyrillic homoglyph", "spiffe://acme.example/agent/suppоrt"],
    ["fullwidth letters", "spiffe://acme.example/agent/ｓupport"],
    ["over-long", `spiffe://acme.example/agent/${"a".repeat(600)}`],
    ["no agent segment", "spiffe://acme.example/workload/support"],
    ["no name", "spiffe://acme.example/agent"],
    ["query", "spiffe://acme.example/agent/support?x=1"],
    ["fragment", "spiffe://acme.example/agent/support#x"],
    ["port", "spiffe://acme.example:443/agent/support"],
    ["user info", "spiffe://user@acme.example/agent/support"],
    ["other scheme", "https://acme.example/agent/support"],
    ["uppercase scheme", "SPIFFE://acme.example/agent/support"],
    ["leading whitespace", " spiffe://acme.example/agent/support"],
    ["trailing newline", "spiffe://acme.example/agent/support\n"],
    ["empty", ""],
  ];
  it.each(invalid)("G55: rejects %s", (_, value) => {
    let caught: unknown;
    try {
      AgentId.parse(value);
    } catch (error) {
      caught = error;
    }
    expect(isAgentGateError(caught) && caught.code).toBe("invalid_agent_id");
    expect(AgentId.isValid(value)).toBe(false);
    expect(AgentId.tryParse(value)).toBeUndefined();
  });

  it("G55: lookalikes of an agent never equal it", () => {
    const real = AgentId.parse("spiffe://acme.example/agent/support");
    for (const [, value] of invalid) expect(real.equals(value)).toBe(false);
  });
});
