import { readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { certificateThumbprint } from "@agentgate/core";
import { afterEach, describe, expect, it } from "vitest";
import { cli, initialised, OPS, SUPPORT } from "../test/workspace.js";

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe("agentgate cert", () => {
  it("issues cert.pem, key.pem (0600) and bundle.pem, and inspects and verifies them as the gate would", async () => {
    const dir = await initialised();
    folders.push(dirname(dir));
    const out = join(dirname(dir), "svid");
    const issued = await cli(dir, "cert", "issue", SUPPORT, "--out", out, "--json");
    expect(issued.code).toBe(0);
    const { serial } = JSON.parse(issued.out) as { serial: string };
    expect(statSync(join(out, "key.pem")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "keys", "x509", "root-key.pem")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, "bundle.pem"), "utf8")).toContain("BEGIN CERTIFICATE");

    const inspected = await cli(
      dir,
      "cert",
      "inspect",
      join(out, "cert.pem"),
      "--verify",
      "--json",
    );
    expect(inspected.code).toBe(0);
    const shown = JSON.parse(inspected.out) as {
      certificates: Array<{ uris: string[]; ca: boolean; serial: string; keyUsage: string[] }>;
      verification: { valid: boolean };
    };
    expect(shown.certificates[0]).toMatchObject({
      uris: [SUPPORT],
      ca: false,
      serial,
      keyUsage: ["digitalSignature"],
    });
    expect(shown.verification.valid).toBe(true);

    const jwks = JSON.parse((await cli(dir, "cert", "bundle", "--jwks")).out) as {
      keys: Array<{ use: string }>;
    };
    expect(jwks.keys.map((key) => key.use)).toEqual(["x509-svid"]);
  });

  it("M96: a certificate whose serial is revoked, or whose agent is revoked, inspects as invalid (exit 1)", async () => {
    const dir = await initialised();
    folders.push(dirname(dir));
    const out = join(dirname(dir), "svid");
    const { serial } = JSON.parse(
      (await cli(dir, "cert", "issue", OPS, "--out", out, "--json")).out,
    ) as { serial: string };
    expect((await cli(dir, "cert", "revoke", serial)).code).toBe(0);
    const inspected = await cli(
      dir,
      "cert",
      "inspect",
      join(out, "cert.pem"),
      "--verify",
      "--json",
    );
    expect(inspected.code).toBe(1);
    expect(JSON.parse(inspected.out).verification).toMatchObject({
      valid: false,
      code: "token_revoked",
      check: "serial",
    });
  });

  it("refuses to issue for an unregistered agent (exit 2)", async () => {
    const dir = await initialised();
    folders.push(dirname(dir));
    const result = await cli(
      dir,
      "cert",
      "issue",
      "spiffe://acme.example/agent/nobody",
      "--out",
      join(dirname(dir), "x"),
    );
    expect(result.code).toBe(2);
  });

  it("M108: token issue --bind-cert binds the token to that SVID (cnf.x5t#S256) and refuses another agent's certificate", async () => {
    const dir = await initialised();
    folders.push(dirname(dir));
    const out = join(dirname(dir), "svid");
    expect((await cli(dir, "cert", "issue", SUPPORT, "--out", out)).code).toBe(0);
    const cert = join(out, "cert.pem");
    const issued = await cli(dir, "token", "issue", SUPPORT, "--bind-cert", cert);
    expect(issued.code).toBe(0);
    const payload = JSON.parse(
      Buffer.from(issued.out.trim().split(".")[1] ?? "", "base64url").toString("utf8"),
    ) as { cnf?: Record<string, string> };
    expect(payload.cnf).toEqual({
      "x5t#S256": await certificateThumbprint(readFileSync(cert, "utf8")),
    });
    const other = await cli(dir, "token", "issue", OPS, "--bind-cert", cert);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/not a certificate of/);
  });
});
