import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentGateError, AgentId, certificateThumbprint, isAgentGateError } from "@agentgate/core";
import {
  CertificateAuthority,
  describeCertificate,
  generateSvidKeyPair,
  privateKeyToPem,
  SVID_LIFETIME,
  verifyAgentCertificate,
} from "@agentgate/core/x509";
import type { Command } from "commander";
import { positiveInteger } from "./input.js";
import { type CommandContext, EXIT } from "./program.js";
import { CliUsageError } from "./usage-error.js";
import type { Workspace } from "./workspace.js";
import { changeWorkspace } from "./workspace-change.js";

/** Where a directory keeps its X.509 CA: beside the signing keys, keys 0600 (H57). */
export function certificateAuthorityDirectory(space: Workspace): string {
  return join(space.directory, "keys", "x509");
}

/** The directory's X.509 CA, created on first use. */
export function openCertificateAuthority(space: Workspace): Promise<CertificateAuthority> {
  return CertificateAuthority.open({
    trustDomain: space.config.trustDomain,
    directory: certificateAuthorityDirectory(space),
  });
}

/** `agentgate cert issue|inspect|bundle`: X.509-SVIDs of the directory's trust domain. */
export function registerCertCommands(program: Command, context: CommandContext): void {
  const { workspace, output, print, fail } = context;
  const cert = program.command("cert").description("X.509-SVIDs for mutual TLS");
  cert
    .command("issue <agent>")
    .description("issue an X.509-SVID: writes cert.pem, key.pem (0600) and bundle.pem to --out")
    .requiredOption("--out <dir>", "the directory to write to")
    .option(
      "--ttl <seconds>",
      `lifetime in seconds (default ${SVID_LIFETIME.default}, at most ${SVID_LIFETIME.max})`,
      positiveInteger,
    )
    .option("--json", "print what was issued as JSON")
    .action(async (id: string, options: { out: string; ttl?: number; json?: boolean }) => {
      const space = await workspace();
      // Only a registered, active agent gets a certificate: a typo must not mint an identity.
      const record = await space.registry.get(id);
      if (record === undefined)
        throw new AgentGateError("agent_unknown", `No agent ${id} is registered.`);
      if (record.supervision === "suspended")
        throw new AgentGateError("agent_suspended", `Agent ${id} is suspended.`);
      const ca = await openCertificateAuthority(space);
      // The key pair is made here, for the agent that will hold key.pem; the CA sees only the
      // public key.
      const keys = await generateSvidKeyPair();
      const svid = await ca.issue(id, {
        publicKey: keys.publicKey,
        ...(options.ttl === undefined ? {} : { lifetimeSeconds: options.ttl }),
      });
      mkdirSync(options.out, { recursive: true, mode: 0o700 });
      writeFileSync(join(options.out, "key.pem"), await privateKeyToPem(keys.privateKey), {
        mode: 0o600,
      });
      writeFileSync(join(options.out, "cert.pem"), `${svid.chainPem}\n`);
      writeFileSync(join(options.out, "bundle.pem"), `${ca.bundle().toPem()}\n`);
      const shown = {
        agent: svid.agent.toString(),
        serial: svid.serial,
        fingerprint: svid.fingerprint,
        notAfter: svid.notAfter.toISOString(),
        out: options.out,
      };
      print(
        options.json === true,
        shown,
        () =>
          `Issued ${shown.agent} serial ${shown.serial} until ${shown.notAfter} in ${shown.out}`,
      );
    });
  cert
    .command("inspect <file>")
    .description(
      "show a PEM certificate chain; with --verify, check it as the gate would against this directory",
    )
    .option("--verify", "verify against the directory's bundle, registry and revocations")
    .option("--json", "print JSON")
    .action(async (file: string, options: { verify?: boolean; json?: boolean }) => {
      const pem = readFileSync(file, "utf8");
      const certificates = await describeCertificate(pem);
      let verification:
        | { valid: boolean; code?: string; check?: string; reason?: string }
        | undefined;
      if (options.verify === true) {
        const space = await workspace();
        const ca = await openCertificateAuthority(space);
        try {
          await verifyAgentCertificate(pem, {
            bundle: ca.bundle(),
            registry: space.registry,
            revocations: space.revocations,
            serials: ca,
          });
          verification = { valid: true };
        } catch (error) {
          if (!isAgentGateError(error)) throw error;
          const check = (error.details as { check?: unknown } | undefined)?.check;
          verification = {
            valid: false,
            code: error.code,
            ...(typeof check === "string" ? { check } : {}),
            reason: error.message,
          };
        }
      }
      const shown = { certificates, ...(verification === undefined ? {} : { verification }) };
      print(options.json === true, shown, () =>
        [
          ...certificates.map(
            (entry) =>
              `${entry.ca ? "CA  " : "leaf"} ${entry.uris.join(", ") || entry.subject}  serial ${entry.serial}  ${entry.notBefore} .. ${entry.notAfter}  sha256 ${entry.fingerprint}`,
          ),
          ...(verification === undefined
            ? []
            : [
                verification.valid
                  ? "valid"
                  : `invalid (${verification.code}${verification.check ? `/${verification.check}` : ""}): ${verification.reason}`,
              ]),
        ].join("\n"),
      );
      if (verification?.valid === false) fail(EXIT.failed);
    });
  cert
    .command("revoke <serial>")
    .description("revoke one certificate by serial: gates sharing the directory refuse it")
    .option("--reason <reason>")
    .action(async (serial: string, options: { reason?: string }) => {
      const id = `x509:${serial.toLowerCase()}`;
      await changeWorkspace(
        (await workspace()).directory,
        // A typo must not look like a revocation: only a serial this CA issued can be revoked.
        async (space) => {
          const agent = (await openCertificateAuthority(space)).agentOf(serial);
          if (agent === undefined)
            throw new AgentGateError("agent_unknown", `No certificate ${serial} was issued here.`);
          return {
            type: "revocation",
            agent,
            details: {
              kind: "token",
              id,
              ...(options.reason === undefined ? {} : { reason: options.reason }),
            },
          };
        },
        ({ authority }) => authority.revoke("token", id, options.reason),
      );
      output.out(`Certificate ${serial} is revoked.`);
    });
  cert
    .command("bundle")
    .description("print the trust bundle: PEM, or the SPIFFE bundle JWKS with --jwks")
    .option("--jwks", "the SPIFFE bundle JWKS form (use: x509-svid)")
    .action(async (options: { jwks?: boolean }) => {
      const bundle = (await openCertificateAuthority(await workspace())).bundle();
      output.out(
        options.jwks === true ? JSON.stringify(await bundle.toJwks(), null, 2) : bundle.toPem(),
      );
    });
}

/**
 * `token issue --bind-cert FILE`: the RFC 8705 thumbprint (`cnf.x5t#S256`) of the leaf in a PEM
 * file, once its one URI SAN is `agent`: a token is never bound to another agent's certificate.
 */
export async function certificateBinding(file: string, agent: string): Promise<string> {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch {
    throw new CliUsageError(`--bind-cert: cannot read ${file}.`);
  }
  const [leaf] = await describeCertificate(pem).catch(() => [] as const);
  if (leaf === undefined) throw new CliUsageError(`--bind-cert: ${file} holds no certificate.`);
  if (leaf.uris.length !== 1 || leaf.uris[0] !== AgentId.parse(agent).toString()) {
    throw new CliUsageError(`--bind-cert: ${file} is not a certificate of ${agent}.`);
  }
  return certificateThumbprint(pem);
}
