import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pollUntil } from "../test/poll.js";
import { request } from "../test/requests.js";
import { tempDir } from "../test/temp-dir.js";
import { CedarPolicyClient } from "./cedar-policy-client.js";

/** A deterministic pseudo-random generator, so a failure can be replayed from its seed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state ^ (state >>> 15), 2246822519) + 0x9e3779b9) >>> 0;
    return state / 2 ** 32;
  };
  return {
    next,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}

const AGENTS = Array.from({ length: 20 }, (_, index) => `spiffe://acme.example/agent/a${index}`);
const TOOLS = Array.from({ length: 30 }, (_, index) => `tool_${index}`);
const ACTIONS = ["read", "write", "delete", "execute"];
const CUSTOMERS = ["acme", "globex", "initech"];

function generateStore(count: number, seed: number): Record<string, string> {
  const rng = random(seed);
  const policies: Record<string, string> = {};
  for (let index = 0; index < count; index++) {
    const principal = rng.pick([
      "principal",
      "principal",
      `principal == Agent::"${rng.pick(AGENTS)}"`,
      "principal is Agent",
    ]);
    const action = rng.pick([
      "action",
      `action == Action::"${rng.pick(ACTIONS)}"`,
      `action in [Action::"${rng.pick(ACTIONS)}", Action::"${rng.pick(ACTIONS)}"]`,
    ]);
    const resource = rng.pick(["resource", "resource", `resource == Tool::"${rng.pick(TOOLS)}"`]);
    const condition = rng.pick([
      "true",
      `context.time.hour >= ${Math.floor(rng.next() * 24)}`,
      `principal.scopes.contains("s${Math.floor(rng.next() * 4)}")`,
      `context.resources has customer && context.resources.customer == "${rng.pick(CUSTOMERS)}"`,
    ]);
    // Forbids stay narrow (one tool, a real condition), so that both outcomes stay common.
    const forbid = rng.next() < 0.2;
    const scope = forbid
      ? `${principal}, ${action}, resource == Tool::"${rng.pick(TOOLS)}"`
      : `${principal}, ${action}, ${resource}`;
    const when = forbid && condition === "true" ? `context.time.hour >= 12` : condition;
    policies[`p${index}.cedar`] =
      `@id("p${index}") ${forbid ? "forbid" : "permit"} (${scope}) when { ${when} };`;
  }
  return policies;
}

describe("policy slicing", () => {
  it("is exact: sliced and whole-set cedar-wasm and the scope-indexed compiled evaluator agree on 3,000 randomized requests over a generated store", async () => {
    const store = generateStore(100, 42);
    const sliced = new CedarPolicyClient({
      policies: store,
      slicing: true,
      evaluator: "cedar-wasm",
    });
    const whole = new CedarPolicyClient({
      policies: store,
      slicing: false,
      evaluator: "cedar-wasm",
    });
    const compiled = new CedarPolicyClient({ policies: store });
    expect(compiled.engine.evaluator).toBe("compiled");
    const rng = random(7);
    let allowed = 0;
    for (let index = 0; index < 3_000; index++) {
      const input = request({
        agent: rng.next() < 0.9 ? rng.pick(AGENTS) : "spiffe://acme.example/agent/stranger",
        action: rng.pick(ACTIONS),
        tool: rng.pick(TOOLS),
        ...(rng.next() < 0.7 ? { customer: rng.pick(CUSTOMERS) } : {}),
        scopes: [`s${Math.floor(rng.next() * 4)}`],
        at: Date.parse("2026-01-05T00:00:00Z") + Math.floor(rng.next() * 24) * 3_600_000,
        timeZone: "UTC",
      });
      // The whole set (the slow reference) on every fifth request.
      const [a, c] = [await sliced.evaluate(input), await compiled.evaluate(input)];
      const others = index % 5 === 0 ? [c, await whole.evaluate(input)] : [c];
      for (const other of others)
        if (
          a.allowed !== other.allowed ||
          [...a.policies].sort().join() !== [...other.policies].sort().join()
        ) {
          throw new Error(
            `request ${index} differs: sliced ${JSON.stringify(a)} vs ${JSON.stringify(other)}`,
          );
        }
      if (a.allowed) allowed++;
    }
    // Both outcomes occur often enough for the comparison to mean something.
    expect(allowed).toBeGreaterThan(150);
    expect(allowed).toBeLessThan(2850);
  }, 600_000); // 6,000 Cedar evaluations: about 20 s alone, minutes on a loaded machine

  it("C32: a watched directory reloads on change, and keeps the last good set when the new one is broken", async () => {
    const directory = tempDir("agentgate-cedar-");
    writeFileSync(
      join(directory, "a.cedar"),
      `@id("reads") permit (principal, action == Action::"read", resource);`,
    );
    const policy = CedarPolicyClient.fromDirectory(directory, { watch: true });
    const waitFor = (check: () => boolean) =>
      pollUntil(check, (held) => held, { what: "the watched reload" });
    expect((await policy.evaluate(request({}))).allowed).toBe(true);
    const version = policy.version();
    writeFileSync(
      join(directory, "a.cedar"),
      `@id("writes") permit (principal, action == Action::"write", resource);`,
    );
    await waitFor(() => policy.version() > version);
    expect((await policy.evaluate(request({}))).allowed).toBe(false);
    writeFileSync(join(directory, "a.cedar"), "permit (principal, action, resource");
    await waitFor(() => policy.lastReloadError !== undefined);
    expect(policy.lastReloadError?.message).toMatch(/a\.cedar/);
    expect((await policy.evaluate(request({ action: "write" }))).allowed).toBe(true);
    await policy.close();
  });
});
