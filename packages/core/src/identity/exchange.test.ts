import { describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import {
  AUDIENCE,
  ISSUER,
  makeIdentity,
  OPS,
  RESEARCH,
  SUPPORT,
} from "../../test/fixtures/identity.js";

describe("Authority.exchange: RFC 8693 token exchange done right (L89)", () => {
  it("L89: a subject token addressed to the exchange, naming the actor in may_act, gives a narrowed delegated token", async () => {
    const { authority, verifier } = await makeIdentity();
    const subject = await authority.issueToken(OPS, {
      audience: ISSUER,
      scope: ["crm:read", "crm:write"],
      mayAct: [SUPPORT],
    });
    const actor = await authority.issueToken(SUPPORT, { audience: ISSUER });
    const issued = await authority.exchange(subject.token, actor.token, {
      audience: AUDIENCE,
      scope: ["crm:read"],
    });
    const verified = await verifier.verify(issued.token, { audience: AUDIENCE });
    expect(verified.chain).toEqual([OPS, SUPPORT]);
    expect(verified.scopes).toEqual(["crm:read"]);
    expect(verified.expiresAt).toBeLessThanOrEqual(subject.expiresAt);
  });

  it("L89: a subject token addressed to another audience (a tool server) is refused, unless that audience is allowed", async () => {
    const { authority } = await makeIdentity();
    const subject = await authority.issueToken(OPS, { audience: AUDIENCE, mayAct: [SUPPORT] });
    const actor = await authority.issueToken(SUPPORT, { audience: ISSUER });
    await expectCode(
      authority.exchange(subject.token, actor.token, { audience: AUDIENCE }),
      "delegation_invalid",
    );
    await expect(
      authority.exchange(subject.token, actor.token, {
        audience: AUDIENCE,
        subjectAudiences: [AUDIENCE],
      }),
    ).resolves.toMatchObject({ chain: [OPS, SUPPORT] });
  });

  it("L89: an actor not in may_act is refused, and without may_act only the mayAct decision allows it", async () => {
    const { authority } = await makeIdentity();
    const actor = await authority.issueToken(SUPPORT, { audience: ISSUER });
    const other = await authority.issueToken(OPS, { audience: ISSUER, mayAct: [RESEARCH] });
    await expectCode(
      authority.exchange(other.token, actor.token, { audience: AUDIENCE, mayAct: () => true }),
      "delegation_invalid",
    );
    const bare = await authority.issueToken(OPS, { audience: ISSUER, scope: ["crm:read"] });
    await expectCode(
      authority.exchange(bare.token, actor.token, { audience: AUDIENCE }),
      "delegation_invalid",
    );
    const asked: string[] = [];
    await expectCode(
      authority.exchange(bare.token, actor.token, {
        audience: AUDIENCE,
        mayAct: ({ subject, actor: who }) => {
          asked.push(`${who.agent} for ${subject.principal.id}`);
          return false;
        },
      }),
      "delegation_invalid",
    );
    expect(asked).toEqual([`${SUPPORT} for ${OPS}`]);
    await expect(
      authority.exchange(bare.token, actor.token, { audience: AUDIENCE, mayAct: () => true }),
    ).resolves.toMatchObject({ chain: [OPS, SUPPORT] });
  });

  it("L89: scopes only narrow; an actor token for another audience is refused", async () => {
    const { authority } = await makeIdentity();
    const subject = await authority.issueToken(OPS, {
      audience: ISSUER,
      scope: ["crm:read"],
      mayAct: [SUPPORT],
    });
    const actor = await authority.issueToken(SUPPORT, { audience: ISSUER });
    await expectCode(
      authority.exchange(subject.token, actor.token, {
        audience: AUDIENCE,
        scope: ["crm:read", "crm:write"],
      }),
      "delegation_invalid",
    );
    const misaddressed = await authority.issueToken(SUPPORT, { audience: AUDIENCE });
    await expectCode(
      authority.exchange(subject.token, misaddressed.token, { audience: AUDIENCE }),
      "token_invalid",
    );
    await expectCode(
      authority.exchange("not-a-jwt", actor.token, { audience: AUDIENCE }),
      "token_invalid",
    );
  });
});
