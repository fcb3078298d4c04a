import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isAgentGateError } from "../../errors.js";
import { defineAgent } from "../../identity/agent-record.js";
import { MemoryAgentRegistry } from "../../identity/agent-registry.js";
import { MemoryRevocationList } from "../../identity/revocation-list.js";
import { TestClock } from "../../testing/test-clock.js";
import {
  CertificateAuthority,
  generateSvidKeyPair,
  SVID_LIFETIME,
} from "./certificate-authority.js";
import { SvidProvider } from "./svid-provider.js";
import { TrustBundle } from "./trust-bundle.js";
import { verifyAgentCertificate } from "./verify-agent-certificate.js";
import { SVID_KEY_ALGORITHM, subtle, x509 } from "./x509-runtime.js";

const TD = "acme.example";
const SUPPORT = `spiffe://${TD}/agent/support`;
const START = "2026-01-05T10:00:00Z";

let directory: string;
let clock: TestClock;
let ca: CertificateAuthority;
let registry: MemoryAgentRegistry;
let revocations: MemoryRevocationList;

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), "agentgate-x509-"));
  clock = new TestClock(START);
  ca = await CertificateAuthority.open({ trustDomain: TD, directory, clock });
  registry = new MemoryAgentRegistry([
    defineAgent({ id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] }, clock),
  ]);
  revocations = new MemoryRevocationList({ clock });
});

afterEach(() => rmSync(directory, { recursive: true, force: true }));

function verify(chain: string, extra: Partial<Parameters<typeof verifyAgentCertificate>[1]> = {}) {
  return verifyAgentCertificate(chain, {
    bundle: ca.bundle(),
    registry,
    revocations,
    serials: ca,
    clock,
    ...extra,
  });
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (!isAgentGateError(error)) throw error;
    const check = (error.details as { check?: string } | undefined)?.check;
    return check === undefined ? error.code : `${error.code}/${check}`;
  }
}

/**
 * A certificate signed with this test's root key but shaped as the test says: what a buggy or
 * subverted issuer, or an attacker holding some CA's key, could present.
 */
async function forge(options: {
  sans?: readonly string[];
  ca?: boolean;
  usage?: number;
  notBefore?: Date;
  notAfter?: Date;
  signer?: { certificate: x509.X509Certificate; key: CryptoKey };
}): Promise<string> {
  const signer = options.signer ?? (await rootSigner(directory));
  const keys = await generateSvidKeyPair();
  const now = clock.now();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: "",
    issuer: signer.certificate.subjectName,
    notBefore: options.notBefore ?? new Date(now),
    notAfter: options.notAfter ?? new Date(now + 3600_000),
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: SVID_KEY_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
      new x509.KeyUsagesExtension(options.usage ?? x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension(
        (options.sans ?? [SUPPORT]).map((value) => ({ type: "url" as const, value })),
        true,
      ),
    ],
  });
  return certificate.toString("pem");
}

type CryptoKey = Awaited<ReturnType<typeof generateSvidKeyPair>>["privateKey"];

async function rootSigner(dir: string) {
  const certificate = new x509.X509Certificate(readFileSync(join(dir, "root.pem"), "utf8"));
  const key = await subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(readFileSync(join(dir, "root-key.pem"), "utf8")),
    SVID_KEY_ALGORITHM,
    false,
    ["sign"],
  );
  return { certificate, key };
}

describe("CertificateAuthority: X.509-SVIDs for a trust domain", () => {
  it("issues an SVID per the SPIFFE profile that verifies into the gate's identity", async () => {
    const { publicKey } = await generateSvidKeyPair();
    const svid = await ca.issue(SUPPORT, { publicKey });
    expect(svid.privateKeyPem).toBeUndefined();
    const leaf = new x509.X509Certificate(svid.certificatePem);
    expect(leaf.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(leaf.getExtension(x509.KeyUsagesExtension)?.usages).toBe(
      x509.KeyUsageFlags.digitalSignature,
    );
    const uris = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.items;
    expect(uris?.map((name) => [name.type, name.value])).toEqual([["url", SUPPORT]]);
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(SVID_LIFETIME.default * 1000);
    expect(ca.agentOf(svid.serial)).toBe(SUPPORT);

    const { agent, record, scopes } = await verify(svid.chainPem, { audience: "https://x" });
    expect(agent.agent.toString()).toBe(SUPPORT);
    expect(agent.tokenId).toBe(`x509:${svid.serial}`);
    expect(agent.certificate).toEqual({ serial: svid.serial, fingerprint: svid.fingerprint });
    expect(agent.attributes.owner).toBe("alice@acme.example");
    expect(record.id).toBe(SUPPORT);
    expect(scopes).toEqual(["crm:read"]);
  });

  it("bounds the lifetime and refuses names of other trust domains at issue", async () => {
    await expect(ca.issue(SUPPORT, { lifetimeSeconds: 86_401 })).rejects.toMatchObject({
      code: "invalid_configuration",
    });
    await expect(ca.issue(SUPPORT, { lifetimeSeconds: 59 })).rejects.toMatchObject({
      code: "invalid_configuration",
    });
    await expect(ca.issue("spiffe://other.example/agent/x")).rejects.toMatchObject({
      code: "invalid_agent_id",
    });
  });

  it("keeps the CA where the signing keys live, keys 0600, and reloads it with its serials", async () => {
    const svid = await ca.issue(SUPPORT);
    expect(statSync(join(directory, "root-key.pem")).mode & 0o777).toBe(0o600);
    const again = await CertificateAuthority.open({ trustDomain: TD, directory, clock });
    expect(again.bundle().toPem()).toBe(ca.bundle().toPem());
    expect(again.agentOf(svid.serial)).toBe(SUPPORT);
  });

  it("M101: a CA key file others can read is refused, never signed with", async () => {
    chmodSync(join(directory, "root-key.pem"), 0o644);
    await expect(CertificateAuthority.open({ trustDomain: TD, directory })).rejects.toMatchObject({
      code: "key_store_invalid",
    });
  });

  it("signs through an intermediate when asked; the bundle holds the root only", async () => {
    const withIntermediate = await CertificateAuthority.open({
      trustDomain: TD,
      directory: join(directory, "with-intermediate"),
      intermediate: true,
      clock,
    });
    const svid = await withIntermediate.issue(SUPPORT);
    expect(svid.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const { agent } = await verify(svid.chainPem, {
      bundle: withIntermediate.bundle(),
      serials: withIntermediate,
    });
    expect(agent.agent.toString()).toBe(SUPPORT);
    // The leaf alone does not reach the root.
    expect(
      await refusal(
        verify(svid.certificatePem, {
          bundle: withIntermediate.bundle(),
          serials: withIntermediate,
        }),
      ),
    ).toBe("token_invalid/chain");
  });

  it("publishes the bundle as PEM and in the SPIFFE JWKS form with use x509-svid", async () => {
    const forgedLeafPem = await forge({});
    const jwks = await ca.bundle().toJwks({ sequence: 1, refreshHintSeconds: 300 });
    expect(jwks.spiffe_sequence).toBe(1);
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toMatchObject({ kty: "EC", crv: "P-256", use: "x509-svid" });
    const fromJwks = new x509.X509Certificate(Buffer.from(key?.x5c[0] ?? "", "base64"));
    expect(fromJwks.toString("pem")).toBe(ca.bundle().toPem());
    expect(() => TrustBundle.fromPem(TD, "no certificate here")).toThrow();
    expect(() => TrustBundle.of(TD, [forgedLeafPem])).toThrow();
  });
});

describe("SvidProvider: the agent side", () => {
  it("renews before expiry with a fresh key, so the agent never presents an expired SVID", async () => {
    const svids = new SvidProvider({
      issue: (publicKey) => ca.issue(SUPPORT, { publicKey, lifetimeSeconds: 600 }),
      clock,
    });
    const first = await svids.current();
    expect((await svids.current()).serial).toBe(first.serial);
    clock.advance(399_000);
    expect((await svids.current()).serial).toBe(first.serial);
    clock.advance(2_000);
    const second = await svids.current();
    expect(second.serial).not.toBe(first.serial);
    expect(second.privateKeyPem).not.toBe(first.privateKeyPem);
    expect(await refusal(verify(second.certificatePem))).toBe("ok");
  });
});

describe("verifyAgentCertificate: refusals", () => {
  it("M94: another trust domain's chain is refused, and so is an agent of another trust domain", async () => {
    const foreignDir = join(directory, "foreign");
    await CertificateAuthority.open({ trustDomain: "evil.example", directory: foreignDir, clock });
    // The foreign CA names our agent: its chain leads to no authority of ours.
    const foreign = await forge({ signer: await rootSigner(foreignDir) });
    expect(await refusal(verify(foreign, { serials: undefined }))).toBe("token_invalid/chain");
    // Bringing the foreign root along in the chain changes nothing: roots come from the bundle.
    const withRoot = `${foreign}\n${readFileSync(join(foreignDir, "root.pem"), "utf8")}`;
    expect(await refusal(verify(withRoot, { serials: undefined }))).toBe("token_invalid/chain");
    // Our own CA, an agent of another trust domain.
    const other = await forge({ sans: ["spiffe://evil.example/agent/support"] });
    expect(await refusal(verify(other, { serials: undefined }))).toBe("token_invalid/trust_domain");
  });

  it("M95: an expired or not-yet-valid certificate is refused; within the skew it works", async () => {
    const svid = await ca.issue(SUPPORT, { lifetimeSeconds: 600 });
    clock.advance(600_000 + 29_000);
    expect(await refusal(verify(svid.chainPem))).toBe("ok");
    clock.advance(2_000);
    expect(await refusal(verify(svid.chainPem))).toBe("token_expired/exp");
    const now = clock.now();
    const future = await forge({
      notBefore: new Date(now + 120_000),
      notAfter: new Date(now + 600_000),
    });
    expect(await refusal(verify(future, { serials: undefined }))).toBe("token_invalid/nbf");
    const nearFuture = await forge({ notBefore: new Date(now + 20_000) });
    expect(await refusal(verify(nearFuture, { serials: undefined }))).toBe("ok");
  });

  it("M96: a revoked agent, a revoked serial, or a serial not issued to the agent is refused", async () => {
    const svid = await ca.issue(SUPPORT);
    await revocations.revoke("token", `x509:${svid.serial}`, "key lost");
    expect(await refusal(verify(svid.chainPem))).toBe("token_revoked/serial");
    const fresh = await ca.issue(SUPPORT);
    expect(await refusal(verify(fresh.chainPem))).toBe("ok");
    await revocations.revoke("agent", SUPPORT);
    expect(await refusal(verify(fresh.chainPem))).toBe("agent_revoked/agent");
    // A certificate the authority never recorded (signed with its key, off the books).
    const unrecorded = await forge({});
    expect(await refusal(verify(unrecorded, { revocations: undefined }))).toBe(
      "token_invalid/serial",
    );
  });

  it("M97: a CA certificate presented as a leaf is refused", async () => {
    expect(await refusal(verify(ca.bundle().toPem(), { serials: undefined }))).toBe(
      "token_invalid/leaf_ca",
    );
    const asCa = await forge({ ca: true });
    expect(await refusal(verify(asCa, { serials: undefined }))).toBe("token_invalid/leaf_ca");
    const signsCerts = await forge({
      usage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
    });
    expect(await refusal(verify(signsCerts, { serials: undefined }))).toBe("token_invalid/leaf_ca");
    const noSignature = await forge({ usage: x509.KeyUsageFlags.keyEncipherment });
    expect(await refusal(verify(noSignature, { serials: undefined }))).toBe(
      "token_invalid/key_usage",
    );
  });

  it("M98: a leaf with two URI SANs is refused", async () => {
    const two = await forge({ sans: [SUPPORT, `spiffe://${TD}/agent/admin`] });
    expect(await refusal(verify(two, { serials: undefined }))).toBe("token_invalid/san");
  });

  it("M99: a SAN that is not a canonical agent id is refused", async () => {
    for (const san of [
      `spiffe://ACME.example/agent/support`,
      `spiffe://${TD}/workload/support`,
      `spiffe://${TD}/agent/support/`,
      `https://${TD}/agent/support`,
    ]) {
      const leaf = await forge({ sans: [san] });
      expect(await refusal(verify(leaf, { serials: undefined })), san).toBe("token_invalid/san");
    }
    expect(await refusal(verify("not a certificate"))).toBe("token_invalid/format");
  });

  it("M100: a valid certificate of a suspended or unregistered agent is refused by the registry, as a token would be", async () => {
    const svid = await ca.issue(SUPPORT);
    await registry.put({ ...(await registry.get(SUPPORT))!, supervision: "suspended" });
    expect(await refusal(verify(svid.chainPem))).toBe("agent_suspended");
    await registry.remove(SUPPORT);
    expect(await refusal(verify(svid.chainPem))).toBe("agent_unknown");
  });
});
