import { readFileSync } from "node:fs";
import { CedarPolicyClient } from "@agentgate/cedar";
import {
  type AccessRequest,
  AgentGateError,
  type AgentGateErrorCode,
  AgentId,
  type AgentRecord,
  defineAgent,
  isAgentGateError,
  resumeAgent,
  type SigningAlgorithm,
  type Supervision,
  suspendAgent,
  verifyAgentToken,
} from "@agentgate/core";
import { accessTime, buildAccessRequest } from "@agentgate/core/internal";
import { loadSpiffeBundles } from "@agentgate/core/node";
import { Command, CommanderError, Option } from "commander";
import { z } from "zod";
import { registerAuditCommands } from "./audit-commands.js";
import { registerWitnessCommand } from "./audit-evidence-commands.js";
import { certificateBinding, registerCertCommands } from "./cert-commands.js";
import { checkCloudIssue, cloudProfile } from "./cloud-profiles.js";
import { registerDashboardCommands } from "./dashboard-commands.js";
import { registerDbCommands } from "./db-commands.js";
import {
  agentId,
  audienceUrl,
  instant,
  positiveInteger,
  publicUrl,
  signingAlgorithm,
  timeZone,
  trustDomain,
} from "./input.js";
import { registerNewStarter } from "./new-starter.js";
import { type Output, processOutput, table } from "./output.js";
import { registerPolicySuggestCommands } from "./policy-suggest/policy-suggest-commands.js";
import { startServer } from "./server.js";
import { CliUsageError } from "./usage-error.js";
import { openWorkspace, type Workspace } from "./workspace.js";
import { type Change, changeWorkspace, initAudited } from "./workspace-change.js";

export { CliUsageError } from "./usage-error.js";

/**
 * Exit codes of `agentgate`: `0` done; `1` a check failed (a deny, a token a gate would refuse, a
 * broken log, a failing policy test); `2` bad input, naming the flag or argument; `3` bad
 * configuration (no directory, an invalid policy, an unreadable key store).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, configuration: 3 } as const;

/** Errors about what the user typed (an id, a record field, an agent that does not exist): exit 2. */
const INPUT_CODES: ReadonlySet<AgentGateErrorCode> = new Set([
  "invalid_agent_id",
  "invalid_agent_record",
  "agent_unknown",
  "agent_exists",
  "scope_invalid",
]);
const CONFIGURATION_CODES: ReadonlySet<AgentGateErrorCode> = new Set([
  "invalid_configuration",
  "key_store_invalid",
  "policy_invalid",
  "registry_unavailable",
]);

/** The CLI package's version, from its package.json. */
function version(): string {
  return (
    JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    }
  ).version;
}

/** Runs the CLI with `argv` (without `node` and the script) and returns the exit code. */
export async function runCli(
  argv: readonly string[],
  output: Output = processOutput,
): Promise<number> {
  let code: number = EXIT.ok;
  const fail = (value: number) => {
    code = value;
  };
  const program = buildProgram(output, fail);
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof CliUsageError) {
      output.err(`agentgate: ${error.message}`);
      return EXIT.usage;
    }
    if (isAgentGateError(error)) {
      output.err(`agentgate: ${error.message}`);
      if (CONFIGURATION_CODES.has(error.code)) return EXIT.configuration;
      return INPUT_CODES.has(error.code) ? EXIT.usage : EXIT.failed;
    }
    output.err(`agentgate: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
  return code;
}

function buildProgram(output: Output, fail: (code: number) => void): Command {
  const program = new Command("agentgate")
    .description("Operate AgentGate: agent identities, tokens, policies and the audit log.")
    .option("--dir <path>", "the AgentGate directory", ".agentgate")
    .version(version(), "--version", "print the version")
    .addHelpText(
      "after",
      "\nExit codes: 0 done, 1 a check failed, 2 bad input (the flag is named), 3 configuration.",
    )
    .showHelpAfterError()
    // Set before any subcommand is added, so every subcommand inherits them.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.out(text.trimEnd()),
      writeErr: (text) => output.err(text.trimEnd()),
    });
  const dir = () => program.opts<{ dir: string }>().dir;
  const workspace = () => openWorkspace(dir());
  // Every state change goes through here: its event first (see audited-change.ts, K83).
  const audited = <T>(
    change: (space: Workspace) => Change | Promise<Change>,
    apply: (space: Workspace) => Promise<T>,
    result?: (value: T) => Readonly<Record<string, unknown>>,
  ) => changeWorkspace(dir(), change, apply, result);
  // A registered agent named on the command line; exit 2 when there is none (before any event).
  const registered = async ({ registry }: Workspace, id: string) => {
    const record = await registry.get(id);
    if (record === undefined)
      throw new AgentGateError("agent_unknown", `No agent ${id} is registered.`);
    return record;
  };
  const print = (json: boolean, value: unknown, text: () => string) =>
    output.out(json ? JSON.stringify(value, null, 2) : text());

  program
    .command("init")
    .description("create a trust domain: keys, an agent registry, a config and an example policy")
    .requiredOption("--trust-domain <domain>", "e.g. acme.example", trustDomain)
    .requiredOption(
      "--audience <url>",
      "the audience of your tools' tokens, e.g. https://tools.acme.example",
      audienceUrl,
    )
    .option("--time-zone <zone>", "IANA time zone of business hours", timeZone, "UTC")
    .option(
      "--algorithm <alg>",
      "signing keys: EdDSA (default), ES256 or RS256 (the one AWS, GCP and Entra ID all accept)",
      signingAlgorithm,
    )
    .option(
      "--public-url <url>",
      "where `agentgate serve` is reached; an https URL becomes the issuer (iss), as clouds require",
      publicUrl,
    )
    .option("--json", "print JSON")
    .action(
      async (options: {
        trustDomain: string;
        audience: string;
        timeZone: string;
        algorithm?: SigningAlgorithm;
        publicUrl?: string;
        json?: boolean;
      }) => {
        const config = {
          trustDomain: options.trustDomain,
          audience: options.audience,
          timeZone: options.timeZone,
          ...(options.algorithm ? { algorithm: options.algorithm } : {}),
          ...(options.publicUrl?.startsWith("https:") ? { issuer: options.publicUrl } : {}),
          ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
        };
        const created = await initAudited(dir(), config);
        print(
          options.json === true,
          {
            directory: created.directory,
            issuer: created.authority.issuer,
            keys: created.authority.keys(),
          },
          () =>
            `Created trust domain ${options.trustDomain} in ${created.directory} (issuer ${created.authority.issuer}).\nNext: agentgate agent add spiffe://${options.trustDomain}/agent/<name> --owner <you>`,
        );
      },
    );

  const agent = program.command("agent").description("register and manage agents");
  agent
    .command("add <id>")
    .description("register an agent")
    .requiredOption("--owner <owner>", "the accountable human or team")
    .option("--name <name>", "display name")
    .option("--team <team>")
    .option("--purpose <purpose>")
    .addOption(
      new Option("--supervision <state>")
        .choices(["autonomous", "supervised", "suspended"])
        .default("autonomous"),
    )
    .option("--scope <scope...>", "scopes it may ever hold", [])
    .option("--expires <iso>", "registration expiry (ISO 8601)", instant)
    .option("--json", "print JSON")
    .action(
      async (
        id: string,
        options: {
          owner: string;
          name?: string;
          team?: string;
          purpose?: string;
          supervision: Supervision;
          scope: string[];
          expires?: string;
          json?: boolean;
        },
      ) => {
        const { config } = await workspace();
        agentId("<id>", id, config.trustDomain);
        if (options.expires !== undefined && Date.parse(options.expires) <= Date.now())
          throw new CliUsageError(
            `--expires ${options.expires}: already past; give a future date or instant.`,
          );
        const record = defineAgent({
          id,
          owner: options.owner,
          supervision: options.supervision,
          maxScopes: options.scope,
          ...(options.name ? { displayName: options.name } : {}),
          ...(options.team ? { team: options.team } : {}),
          ...(options.purpose ? { purpose: options.purpose } : {}),
          ...(options.expires ? { expiresAt: options.expires } : {}),
        });
        await audited(
          async ({ registry }) => {
            if ((await registry.get(id)) !== undefined)
              throw new AgentGateError("agent_exists", `Agent ${id} is already registered.`);
            return { type: "agent_change", agent: id, details: { change: "added", record } };
          },
          ({ registry }) => registry.put(record),
        );
        print(
          options.json === true,
          record,
          () => `Registered ${id} (owner ${record.owner}, ${record.supervision}).`,
        );
      },
    );
  agent
    .command("list")
    .description("list agents")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const { registry, revocations } = await workspace();
      const rows = (await registry.list()).map((record) => ({
        ...record,
        revoked: revocations.isRevoked("agent", record.id),
      }));
      print(options.json === true, rows, () =>
        table(rows, ["id", "owner", "supervision", "maxScopes", "revoked"]),
      );
    });
  agent
    .command("update <id>")
    .description("change an agent's owner, name, team, purpose, scopes or expiry")
    .option("--owner <owner>")
    .option("--name <name>", "display name")
    .option("--team <team>")
    .option("--purpose <purpose>")
    .option("--scope <scope...>", "replaces the scopes it may ever hold")
    .option("--expires <iso>", "registration expiry (ISO 8601)", instant)
    .option("--json", "print JSON")
    .action(
      async (
        id: string,
        options: {
          owner?: string;
          name?: string;
          team?: string;
          purpose?: string;
          scope?: string[];
          expires?: string;
          json?: boolean;
        },
      ) => {
        const wanted: Partial<Record<keyof AgentRecord, unknown>> = {
          ...(options.owner === undefined ? {} : { owner: options.owner }),
          ...(options.name === undefined ? {} : { displayName: options.name }),
          ...(options.team === undefined ? {} : { team: options.team }),
          ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
          ...(options.scope === undefined ? {} : { maxScopes: options.scope }),
          ...(options.expires === undefined ? {} : { expiresAt: options.expires }),
        };
        if (Object.keys(wanted).length === 0)
          throw new CliUsageError(
            "Nothing to update: give --owner, --name, --team, --purpose, --scope or --expires.",
          );
        if (options.expires !== undefined && Date.parse(options.expires) <= Date.now())
          throw new CliUsageError(
            `--expires ${options.expires}: already past; give a future date or instant.`,
          );
        let updated: AgentRecord | undefined;
        await audited(
          async (space) => {
            const record = await registered(space, id);
            updated = defineAgent({ ...record, ...wanted } as Parameters<typeof defineAgent>[0]);
            const changes = Object.fromEntries(
              Object.keys(wanted).map((key) => [
                key,
                {
                  from: record[key as keyof AgentRecord] ?? null,
                  to: (updated as AgentRecord)[key as keyof AgentRecord] ?? null,
                },
              ]),
            );
            return { type: "agent_change", agent: id, details: { change: "updated", changes } };
          },
          ({ registry }) => registry.put(updated as AgentRecord),
        );
        print(options.json === true, updated, () => `Updated ${id}.`);
      },
    );
  agent
    .command("show <id>")
    .description("show one agent")
    .option("--json", "print JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const { registry, revocations } = await workspace();
      const record = await registry.get(id);
      if (record === undefined) throw new AgentGateError("agent_unknown", `No agent ${id}.`);
      const shown = { ...record, revoked: revocations.isRevoked("agent", id) };
      print(options.json === true, shown, () =>
        Object.entries(shown)
          .map(
            ([key, value]) =>
              `${key.padEnd(12)} ${Array.isArray(value) ? value.join(" ") : typeof value === "object" ? JSON.stringify(value) : String(value)}`,
          )
          .join("\n"),
      );
    });
  agent
    .command("suspend <id>")
    .description("deny everything the agent does until resumed")
    .action(async (id: string) => {
      let before: AgentRecord | undefined;
      let after: AgentRecord | undefined;
      await audited(
        async (space) => {
          before = await registered(space, id);
          after = suspendAgent(before);
          return {
            type: "agent_change",
            agent: id,
            details: { change: "suspended", from: before.supervision, to: after.supervision },
          };
        },
        ({ registry }) => registry.put(after as AgentRecord),
      );
      const was = (before as AgentRecord).supervision;
      output.out(
        `${id} is suspended${was === "suspended" ? " (it already was)" : ` (was ${was})`}.`,
      );
    });
  agent
    .command("resume <id>")
    .description("give a suspended agent back the supervision it had before")
    .addOption(
      new Option(
        "--supervision <state>",
        "resume to this state instead (default: the state before suspension)",
      ).choices(["autonomous", "supervised"]),
    )
    .action(async (id: string, options: { supervision?: "autonomous" | "supervised" }) => {
      let before: AgentRecord | undefined;
      let after: AgentRecord | undefined;
      await audited(
        async (space) => {
          before = await registered(space, id);
          if (before.supervision !== "suspended")
            throw new CliUsageError(`${id} is not suspended (it is ${before.supervision}).`);
          after = resumeAgent(before, options.supervision);
          return {
            type: "agent_change",
            agent: id,
            details: { change: "resumed", from: before.supervision, to: after.supervision },
          };
        },
        ({ registry }) => registry.put(after as AgentRecord),
      );
      output.out(
        `${id} is ${(after as AgentRecord).supervision}${options.supervision === undefined && (before as AgentRecord).suspendedFrom === undefined ? " (its state before suspension was not recorded: the closer watch; --supervision autonomous to change)" : ""}.`,
      );
    });
  agent
    .command("revoke <id>")
    .description(
      "revoke an agent for good: every gate sharing the directory denies it within a second",
    )
    .option("--reason <reason>")
    .action(async (id: string, options: { reason?: string }) => {
      await audited(
        // A typo must not look like a revocation: only registered agents can be revoked.
        async (space) => {
          await registered(space, id);
          return {
            type: "revocation",
            agent: id,
            details: {
              kind: "agent",
              id,
              ...(options.reason === undefined ? {} : { reason: options.reason }),
            },
          };
        },
        ({ authority }) => authority.revoke("agent", id, options.reason),
      );
      output.out(`${id} is revoked.`);
    });

  const keys = program.command("keys").description("signing keys");
  keys
    .command("list")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const { authority } = await workspace();
      print(options.json === true, authority.keys(), () =>
        table(authority.keys() as unknown as Record<string, unknown>[], [
          "kid",
          "alg",
          "status",
          "createdAt",
          "retiresAt",
        ]),
      );
    });
  keys
    .command("rotate")
    .description("a new key signs at once; the old one verifies until its overlap window ends")
    .option("--algorithm <alg>", "the new key's algorithm: EdDSA, ES256 or RS256", signingAlgorithm)
    .action(async (options: { algorithm?: SigningAlgorithm }) => {
      const info = await audited(
        () => ({
          type: "key_rotation",
          details: { change: "rotate", ...(options.algorithm ? { alg: options.algorithm } : {}) },
        }),
        ({ authority }) =>
          authority.rotateKey(options.algorithm ? { algorithm: options.algorithm } : {}),
        (key) => ({ kid: key.kid, alg: key.alg }),
      );
      output.out(`New signing key ${info.kid}.`);
    });
  keys
    .command("retire <kid>")
    .description(
      "stop a key verifying at once (a new key signs first when it was signing); a key id that starts with - goes after --",
    )
    .action(async (kid: string) => {
      await audited(
        ({ authority }) => {
          if (!authority.keys().some((key) => key.kid === kid))
            throw new AgentGateError("key_unavailable", `No key ${kid}.`);
          return { type: "key_rotation", details: { change: "retire", kid } };
        },
        ({ authority }) => authority.retireKey(kid),
      );
      output.out(`Key ${kid} is retired.`);
    });

  const token = program.command("token").description("agent tokens");
  token
    .command("issue <agent>")
    .description("issue a short-lived token (printed alone on stdout)")
    .option("--audience <url>", "default: the configured audience", audienceUrl)
    .option("--scope <scope...>")
    .option("--ttl <seconds>", "lifetime in seconds", positiveInteger)
    .option("--principal <user>", "the user the agent acts for")
    .option(
      "--may-act <agent...>",
      "agents that may exchange this token at POST /token to act for its subject (RFC 8693 may_act)",
    )
    .addOption(
      new Option(
        "--for <cloud>",
        "a token for a cloud's workload identity federation: its aud, sub and lifetime",
      ).choices(["aws", "gcp", "azure"]),
    )
    .option(
      "--gcp-provider <name>",
      "with --for gcp: projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>",
    )
    .option(
      "--bind-cert <file>",
      "bind the token to the agent's X.509-SVID (PEM): usable only over mTLS with it (RFC 8705 cnf.x5t#S256)",
    )
    .action(
      async (
        id: string,
        options: {
          audience?: string;
          scope?: string[];
          ttl?: number;
          principal?: string;
          for?: string;
          gcpProvider?: string;
          mayAct?: string[];
          bindCert?: string;
        },
      ) => {
        const { authority, config } = await workspace();
        let audience = options.audience ?? config.audience;
        let ttl = options.ttl;
        if (options.for !== undefined) {
          // A cloud maps the token's sub to a workload: it is the agent itself, for its audience.
          if (options.audience !== undefined || options.principal !== undefined)
            throw new CliUsageError(
              "--for sets the audience and the subject: drop --audience and --principal.",
            );
          const profile = cloudProfile(options.for, options.gcpProvider);
          checkCloudIssue(profile, authority.issuer, authority.signingAlgorithm(), id);
          audience = profile.audience;
          ttl ??= profile.defaultTtlSeconds;
        } else if (options.gcpProvider !== undefined) {
          throw new CliUsageError("--gcp-provider goes with --for gcp.");
        }
        const issued = await authority.issueToken(id, {
          audience,
          ...(options.scope ? { scope: options.scope } : {}),
          ...(ttl ? { ttlSeconds: ttl } : {}),
          ...(options.principal ? { principal: options.principal } : {}),
          ...(options.mayAct ? { mayAct: options.mayAct } : {}),
          ...(options.bindCert === undefined
            ? {}
            : {
                confirmation: { "x5t#S256": await certificateBinding(options.bindCert, id) },
              }),
        });
        output.out(issued.token);
      },
    );
  token
    .command("inspect <token>")
    .description(
      "decode a token's header and claims without verifying (never prints the signature)",
    )
    .action((value: string) => {
      const [header, payload] = value.split(".");
      const decode = (part: string | undefined) =>
        JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8")) as unknown;
      try {
        output.out(
          JSON.stringify(
            { header: decode(header), claims: decode(payload), verified: false },
            null,
            2,
          ),
        );
      } catch {
        throw new AgentGateError("token_invalid", "Not a JWT.");
      }
    });
  token
    .command("verify <token>")
    .description(
      "check a token exactly as a gate does (signature, claims, revocations, registry); exit 1 when a gate would refuse it",
    )
    .option("--audience <url>", "default: the configured audience", audienceUrl)
    .option("--json", "print JSON")
    .action(async (value: string, options: { audience?: string; json?: boolean }) => {
      const { authority, config, directory, registry } = await workspace();
      // config.json's SPIFFE bundles, read as createGate reads them (a fault is exit 3).
      const spiffeBundles = await loadSpiffeBundles(config, directory);
      const verifier = authority.verifier();
      try {
        // The gate's own check (L90): a suspended, revoked, expired or unregistered agent's
        // token is unusable here as it is at every gate; so is a SPIRE JWT-SVID (P132).
        const { agent: agentIdentity, scopes } = await verifyAgentToken(value, {
          verifier,
          registry,
          audience: options.audience ?? config.audience,
          ...(spiffeBundles === undefined
            ? {}
            : { spiffeBundles, revocations: verifier.revocations }),
        });
        const shown = {
          valid: true,
          // An AgentGate token, or a SPIRE JWT-SVID of a configured bundle.
          credential: agentIdentity.jwtSvid === undefined ? "token" : "jwt-svid",
          agent: agentIdentity.agent.toString(),
          principal: agentIdentity.principal.id,
          chain: agentIdentity.chain,
          // The scopes the gate lets policy see: the token's, as far as the registry still grants them.
          scopes,
          tokenId: agentIdentity.tokenId,
          expiresAt: new Date(agentIdentity.expiresAt * 1000).toISOString(),
        };
        print(
          options.json === true,
          shown,
          () =>
            `valid: ${shown.agent} for ${shown.principal}, scopes ${shown.scopes.join(" ") || "(none)"}, until ${shown.expiresAt}`,
        );
      } catch (error) {
        if (!isAgentGateError(error)) throw error;
        // `check` names the failed check as the gate's refusal does (`details.check`: sub, kid, aud…).
        const check = (error.details as { check?: unknown } | undefined)?.check;
        print(
          options.json === true,
          {
            valid: false,
            code: error.code,
            ...(typeof check === "string" ? { check } : {}),
            reason: error.message,
          },
          () =>
            `invalid (${error.code}${typeof check === "string" ? `/${check}` : ""}): ${error.message}`,
        );
        fail(EXIT.failed);
      }
    });

  const context: CommandContext = { dir, workspace, output, print, fail };
  registerPolicyCommands(program, context);
  registerAuditCommands(program, context);
  registerWitnessCommand(program, { dir, output, fail });
  registerCertCommands(program, context);
  registerDashboardCommands(program, context);
  registerDbCommands(program, output, fail);

  program
    .command("serve")
    .description("serve JWKS, discovery, the AuthZEN PDP, token exchange and the revocation feed")
    .option("--host <host>", "bind address", "127.0.0.1")
    .option("--port <port>", "port", (value) => Number.parseInt(value, 10), 8787)
    .option(
      "--public-url <url>",
      "the URL clients use (default http(s)://host:port); when https and config.json names no issuer, it is the issuer",
      publicUrl,
    )
    .option("--tls-cert <file>", "serve HTTPS with this PEM certificate chain (with --tls-key)")
    .option("--tls-key <file>", "the PEM private key of --tls-cert")
    .option(
      "--client-ca <file>",
      "require mTLS client certificates from these CAs (`agentgate cert bundle`)",
    )
    .option(
      "--database <url>",
      "keep the registry, revocations and audit trail in PostgreSQL (postgres://…; default: config.json's database)",
    )
    .action(async (options: ServeCommandOptions) => {
      const tls = tlsFiles(options);
      // The server records what its admin endpoints and token exchange do in a chain of its
      // own in the directory's audit log (K83); a server that cannot start (a busy port: one
      // line and exit 3, see runCli) releases that chain before it rejects.
      const server = await startServer({
        workspace: await openWorkspace(dir(), {
          // Clouds fetch <iss>/.well-known/openid-configuration: an https public URL is the issuer.
          ...(options.publicUrl?.startsWith("https:") ? { issuer: options.publicUrl } : {}),
          // The database of --database, else config.json's, else the files.
          database: options.database ?? true,
        }),
        host: options.host,
        port: options.port,
        ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
        ...(tls ? { tls } : {}),
        ...(process.env.AGENTGATE_ADMIN_TOKEN
          ? { adminToken: process.env.AGENTGATE_ADMIN_TOKEN }
          : {}),
      });
      output.out(
        `AgentGate server on ${server.url} (admin endpoints ${process.env.AGENTGATE_ADMIN_TOKEN ? "on" : "off: set AGENTGATE_ADMIN_TOKEN"}).`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await server.close();
    });
  registerNewStarter(program, output);
  return program;
}

interface ServeCommandOptions {
  host: string;
  port: number;
  publicUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  database?: string;
}

/** The `--tls-cert` / `--tls-key` pair, read; both or neither. */
function tlsFiles(
  options: ServeCommandOptions,
): { key: Buffer; cert: Buffer; clientCa?: Buffer } | undefined {
  if (options.tlsCert === undefined && options.tlsKey === undefined) {
    if (options.clientCa !== undefined) throw new CliUsageError("--client-ca needs --tls-cert.");
    return undefined;
  }
  if (options.tlsCert === undefined || options.tlsKey === undefined)
    throw new CliUsageError("--tls-cert and --tls-key go together.");
  try {
    return {
      cert: readFileSync(options.tlsCert),
      key: readFileSync(options.tlsKey),
      ...(options.clientCa === undefined ? {} : { clientCa: readFileSync(options.clientCa) }),
    };
  } catch (error) {
    throw new AgentGateError(
      "invalid_configuration",
      `Cannot read the TLS files: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Prints `value` as JSON with `--json`, else the text. */
export type Print = (json: boolean, value: unknown, text: () => string) => void;

/** What every group of commands needs: the directory, the streams, and the exit code. */
export interface CommandContext {
  /** The AgentGate directory (`--dir`), not yet opened. */
  readonly dir: () => string;
  readonly workspace: () => Promise<Workspace>;
  readonly output: Output;
  readonly print: Print;
  readonly fail: (code: number) => void;
}

function registerPolicyCommands(program: Command, context: CommandContext): void {
  const { workspace, output, print, fail } = context;
  const policy = program.command("policy").description("Cedar policies");
  registerPolicySuggestCommands(policy, context);
  const client = async () => CedarPolicyClient.fromDirectory((await workspace()).policies);
  // The registered owner, supervision and labels, so a check sees what a gate would.
  const registered = async (id: string) => (await workspace()).registry.get(id);
  policy
    .command("validate")
    .description(
      "parse and validate every policy against the schema; exit 3 with file:line on errors",
    )
    .action(async () => {
      const loaded = await client();
      output.out(`${loaded.policies.length} policies valid.`);
    });
  policy
    .command("check")
    .description("decide one request and say which policies decided")
    .requiredOption("--agent <id>")
    .requiredOption("--tool <name>")
    .option("--action <kind>", "read, write, delete, execute or a verb", "execute")
    .option("--server <id>")
    .option("--args <json>", "validated tool arguments", "{}")
    .option("--resource <type=value...>", "business resources, e.g. customer=acme", [])
    .option("--scope <scope...>", "scopes of the presented token", [])
    .option("--at <iso>", "the time of the call (default now)", instant)
    .option("--json", "print JSON")
    .action(async (options: CheckOptions & { json?: boolean }) => {
      const { config } = await workspace();
      agentId("--agent", options.agent);
      const explanation = (await client()).explain(
        requestFrom(options, config.timeZone ?? "UTC", await registered(options.agent)),
      );
      print(
        options.json === true,
        explanation,
        () =>
          `${explanation.allowed ? "ALLOW" : "DENY"}: ${explanation.reason}${explanation.permitting
            .concat(explanation.forbidding)
            .map((policyRef) => `\n  ${policyRef.id} (${policyRef.file}:${policyRef.line ?? "?"})`)
            .join("")}`,
      );
      if (!explanation.allowed) fail(EXIT.failed);
    });
  policy
    .command("test <cases>")
    .description(
      "run a JSON file of cases ({ name, agent, tool, action, args, resources, scopes, at, expect: allow|deny })",
    )
    .option("--json", "print JSON")
    .action(async (file: string, options: { json?: boolean }) => {
      const { config } = await workspace();
      const cases = parseCases(file);
      const loaded = await client();
      const results: Array<{
        name: string;
        expect: string;
        got: string;
        pass: boolean;
        reason: string;
      }> = [];
      for (const [index, testCase] of cases.entries()) {
        agentId(`${file}: case ${index} (${testCase.name}): agent`, testCase.agent);
        const resource = Object.entries(testCase.resources ?? {}).map(
          ([type, value]) => `${type}=${value}`,
        );
        const decision = await loaded.evaluate(
          requestFrom(
            { ...testCase, resource, args: testCase.args ?? {} },
            config.timeZone ?? "UTC",
            await registered(testCase.agent),
          ),
        );
        const got = decision.allowed ? "allow" : "deny";
        results.push({
          name: testCase.name,
          expect: testCase.expect,
          got,
          pass: got === testCase.expect,
          reason: decision.reason,
        });
      }
      const failed = results.filter((result) => !result.pass).length;
      print(
        options.json === true,
        results,
        () =>
          `${table(results, ["name", "expect", "got", "pass"])}\n\npolicy tests: ${results.length - failed} passed, ${failed} failed`,
      );
      if (failed > 0) fail(EXIT.failed);
    });
}

const caseSchema = z.strictObject({
  name: z.string().min(1),
  agent: z.string().min(1),
  tool: z.string().min(1),
  action: z.string().min(1).optional(),
  server: z.string().min(1).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
  resources: z.record(z.string(), z.string()).optional(),
  scopes: z.array(z.string()).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
  expect: z.enum(["allow", "deny"]),
});

/** Reads and validates a `policy test` cases file; a bad file is a usage error naming the case. */
function parseCases(file: string): z.infer<typeof caseSchema>[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CliUsageError(
      `Cannot read the cases file ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = z.array(caseSchema).min(1).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliUsageError(
      `${file}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message ?? "invalid"}. Expected a JSON array of { name, agent, tool, action?, args?, resources?, scopes?, at?, expect: "allow" | "deny" }.`,
    );
  }
  return parsed.data;
}

interface CheckOptions {
  agent: string;
  tool: string;
  action?: string;
  server?: string;
  args?: string | Record<string, unknown>;
  resource?: string[];
  scope?: string[];
  scopes?: string[];
  at?: string;
}

function parseArgs(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliUsageError(`--args is not JSON: ${text}. Example: --args '{"customerId":"acme"}'`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliUsageError(`--args must be a JSON object, e.g. --args '{"customerId":"acme"}'`);
  }
  return value as Record<string, unknown>;
}

function requestFrom(
  options: CheckOptions,
  timeZone: string,
  record: AgentRecord | undefined,
): AccessRequest {
  const args = typeof options.args === "string" ? parseArgs(options.args) : (options.args ?? {});
  const resources = Object.fromEntries(
    (options.resource ?? []).map((pair) => {
      const at = pair.indexOf("=");
      if (at <= 0)
        throw new CliUsageError(`--resource ${pair}: expected type=value, e.g. customer=acme`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const instant = Date.parse(options.at ?? new Date().toISOString());
  if (Number.isNaN(instant)) {
    throw new CliUsageError(
      `--at ${options.at}: expected an ISO 8601 instant, e.g. 2026-01-05T09:00:00Z`,
    );
  }
  const scopes = options.scope ?? options.scopes ?? [];
  const agent = AgentId.parse(options.agent);
  // The request a gate would build for this agent calling this tool, through the same builder.
  return buildAccessRequest({
    agent: {
      agent,
      principal: { id: options.agent, kind: "agent" },
      chain: [options.agent],
      agents: [agent],
      delegated: false,
      scopes,
      tokenId: "policy-check",
      keyId: "policy-check",
      issuer: "policy-check",
      audience: "policy-check",
      issuedAt: Math.floor(instant / 1000),
      expiresAt: Math.floor(instant / 1000) + 60,
      attributes: {
        owner: record?.owner ?? "",
        supervision: record?.supervision ?? "autonomous",
      },
    },
    record: record ?? {
      id: options.agent,
      displayName: options.agent,
      owner: "",
      supervision: "autonomous",
      labels: {},
      maxScopes: scopes,
      createdAt: new Date(instant).toISOString(),
    },
    scopes,
    tool: {
      name: options.tool,
      action: options.action ?? "execute",
      ...(options.server ? { server: options.server } : {}),
    },
    arguments: args,
    time: accessTime(instant, timeZone),
    environment: "policy-check",
    resources,
  });
}
