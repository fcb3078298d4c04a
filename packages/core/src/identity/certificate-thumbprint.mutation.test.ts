import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode } from "../../test/fixtures/expect-code.js";
import { CertificateAuthority, type IssuedSvid } from "../node/x509/certificate-authority.js";
import { TestClock } from "../testing/test-clock.js";
import { certificateThumbprint } from "./certificate-thumbprint.js";

// The RFC 8705 §3.1 thumbprint a certificate-bound token carries (`cnf["x5t#S256"]`, M108):
// base64url of SHA-256 over the leaf's DER, whichever form the certificate is given in. Checked
// against a real X.509-SVID of AgentGate's CA and node:crypto's own fingerprint of it.

let directory: string;
let svid: IssuedSvid;
/** The leaf's thumbprint as node:crypto computes it (SHA-256 of the DER, hex with colons). */
let expected: string;
/** The CA's root certificate, PEM. */
let root: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "agentgate-thumbprint-"));
  const ca = await CertificateAuthority.open({
    trustDomain: "acme.example",
    directory,
    clock: new TestClock("2026-01-05T10:00:00Z"),
  });
  svid = await ca.issue("spiffe://acme.example/agent/support");
  root = ca.bundle().toPem();
  const hex = new X509Certificate(svid.certificatePem).fingerprint256.replaceAll(":", "");
  expected = Buffer.from(hex, "hex").toString("base64url");
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("certificateThumbprint (RFC 8705 x5t#S256, M108)", () => {
  it("M108: a PEM leaf, a PEM chain (its first block) and the DER bytes give the same thumbprint", async () => {
    expect(svid.fingerprint).toBe(Buffer.from(expected, "base64url").toString("hex"));
    expect(await certificateThumbprint(svid.certificatePem)).toBe(expected);
    // A chain file, the leaf first: the leaf's thumbprint, not the CA's.
    expect(await certificateThumbprint(`${svid.certificatePem}\n${root}`)).toBe(expected);
    const rootHex = new X509Certificate(root).fingerprint256.replaceAll(":", "");
    const rootThumbprint = Buffer.from(rootHex, "hex").toString("base64url");
    expect(rootThumbprint).not.toBe(expected);
    expect(await certificateThumbprint(`${root}\n${svid.certificatePem}`)).toBe(rootThumbprint);
    const der = new X509Certificate(svid.certificatePem).raw;
    expect(await certificateThumbprint(new Uint8Array(der))).toBe(expected);
    // A Buffer is a Uint8Array too.
    expect(await certificateThumbprint(der)).toBe(expected);
  });

  it("reads the block whatever its line breaks and the text around it (openssl's subject lines, CRLF)", async () => {
    const body = svid.certificatePem
      .replace("-----BEGIN CERTIFICATE-----", "")
      .replace(/-----END CERTIFICATE-----[\s\S]*/, "")
      .replace(/\s+/g, "");
    const crlf = `subject=URI:spiffe://acme.example/agent/support\r\n-----BEGIN CERTIFICATE-----\r\n${body
      .match(/.{1,64}/g)
      ?.join("\r\n")}\r\n-----END CERTIFICATE-----\r\n`;
    expect(await certificateThumbprint(crlf)).toBe(expected);
    // One line, no breaks at all.
    const oneLine = `-----BEGIN CERTIFICATE-----${body}-----END CERTIFICATE-----`;
    expect(await certificateThumbprint(oneLine)).toBe(expected);
    // Tabs and runs of spaces inside the block.
    const spaced = `-----BEGIN CERTIFICATE-----\n\t${body.match(/.{1,16}/g)?.join("  \t ")}\n-----END CERTIFICATE-----`;
    expect(await certificateThumbprint(spaced)).toBe(expected);
  });

  it("M108: an empty certificate (no bytes, or a block of white space) is invalid_configuration, never the thumbprint of nothing", async () => {
    await expectCode(certificateThumbprint(new Uint8Array(0)), "invalid_configuration");
    await expectCode(
      certificateThumbprint("-----BEGIN CERTIFICATE-----\n \r\n-----END CERTIFICATE-----"),
      "invalid_configuration",
    );
    // A lone "=" passes the block's pattern but is no base64: refused, as an AgentGateError.
    await expectCode(
      certificateThumbprint("-----BEGIN CERTIFICATE-----\n=\n-----END CERTIFICATE-----"),
      "invalid_configuration",
    );
  });

  it("a text with no CERTIFICATE block is invalid_configuration", async () => {
    await expectCode(certificateThumbprint(""), "invalid_configuration");
    await expectCode(certificateThumbprint("not a certificate"), "invalid_configuration");
    await expectCode(
      certificateThumbprint(svid.privateKeyPem ?? "-----BEGIN PRIVATE KEY-----"),
      "invalid_configuration",
    );
    // A block holding what is no base64.
    await expectCode(
      certificateThumbprint("-----BEGIN CERTIFICATE-----\n#!*\n-----END CERTIFICATE-----"),
      "invalid_configuration",
    );
  });
});
