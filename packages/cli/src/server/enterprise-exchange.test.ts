import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CedarPolicyClient } from "@agentgate/cedar";
import { MemoryAuditSink } from "@agentgate/core";
import { accessTime, buildAccessRequest } from "@agentgate/core/internal";
import { afterEach, describe, expect, it } from "vitest";
import { AUDIENCE, initialised, SUPPORT } from "../../test/workspace.js";
import { type RunningServer, startServer } from "../server.js";
import { openWorkspace } from "../workspace.js";

/** core's stand-in enterprise IdP (a real oidc-provider on 127.0.0.1), shared by path. */
interface Idp {
  issuer: string;
  login: (user: string) => Promise<string>;
  close: () => Promise<void>;
}
const IDP_FIXTURE = new URL("../../../core/test/fixtures/oidc-idp.ts", import.meta.url).href;
const { startIdp } = (await import(/* @vite-ignore */ IDP_FIXTURE)) as {
  startIdp: () => Promise<Idp>;
};

const closing: (RunningServer | Idp)[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((part) => part.close()));
});

describe("POST /token with an enterprise user's token (config.json trustedIssuers)", () => {
  it("K89: the agent's own token as actor_token and an IdP ID token as subject_token give a token whose sub is the user and act.sub the agent; audited", async () => {
    const idp = await startIdp();
    closing.push(idp);
    const dir = await initialised();
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    config.trustedIssuers = [
      { issuer: idp.issuer, audience: "agentgate", claims: { groups: "groups" } },
    ];
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const workspace = await openWorkspace(dir);
    const audit = new MemoryAuditSink();
    const server = await startServer({
      workspace,
      port: 0,
      audit,
      dangerouslyAllowInsecureIdpUrlsForTests: true,
    });
    closing.push(server);
    const actor = await workspace.authority.issueToken(SUPPORT, {
      audience: workspace.authority.issuer,
    });
    const exchange = (subject: string) =>
      fetch(`${server.url}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
          subject_token: subject,
          actor_token: actor.token,
          audience: AUDIENCE,
        }),
      });
    const response = await exchange(await idp.login("alice"));
    const body = (await response.json()) as { access_token: string; expires_in: number };
    expect(response.status, JSON.stringify(body)).toBe(200);
    const verified = await workspace.authority
      .verifier()
      .verify(body.access_token, { audience: AUDIENCE });
    expect(verified.principal).toMatchObject({ id: "user:alice@acme.example", kind: "user" });
    expect(verified.chain).toEqual(["user:alice@acme.example", SUPPORT]);
    expect(body.expires_in).toBeLessThanOrEqual(300);
    // The user's groups reach policy as principal.principalGroups: "the support agent may read
    // CRM records for users in group support-eu".
    expect(verified.principal.groups).toEqual(["support-eu", "staff"]);
    writeFileSync(
      join(dir, "policies", "policies.cedar"),
      `@id("support-eu-reads")
permit (principal == Agent::"${SUPPORT}", action == Action::"read", resource == Tool::"crm_lookup")
when { principal has principalGroups && principal.principalGroups.contains("support-eu") };
`,
    );
    const policy = CedarPolicyClient.fromDirectory(workspace.policies, { watch: false });
    const record = await workspace.registry.get(SUPPORT);
    if (record === undefined) throw new Error("no agent");
    const decide = async (token: string) => {
      const agent = await workspace.authority.verifier().verify(token, { audience: AUDIENCE });
      return policy.evaluate(
        buildAccessRequest({
          agent,
          record,
          scopes: agent.scopes,
          tool: { name: "crm_lookup", action: "read" },
          arguments: {},
          time: accessTime(Date.now(), "UTC"),
          environment: "test",
        }),
      );
    };
    expect((await decide(body.access_token)).allowed).toBe(true);
    const asBob = (await (await exchange(await idp.login("bob"))).json()) as {
      access_token: string;
    };
    expect((await decide(asBob.access_token)).allowed).toBe(false);
    // The agent acting for itself has no groups: denied too.
    const own = await workspace.authority.issueToken(SUPPORT, { audience: AUDIENCE });
    expect((await decide(own.token)).allowed).toBe(false);
    // A forged "IdP" token (right iss, wrong key) is refused and audited as refused.
    const [h, p] = (await idp.login("bob")).split(".");
    const forged = await exchange(`${h}.${p}.${"A".repeat(342)}`);
    expect(forged.status).toBe(400);
    const events = audit.events.filter((event) => event.type === "token_exchange");
    expect(events.map((event) => [event.principal, event.decision?.allowed])).toEqual([
      ["user:alice@acme.example", true],
      ["user:bob@acme.example", true],
      [undefined, false],
    ]);
  });
});
