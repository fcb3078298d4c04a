import { readFileSync } from "node:fs";
import { CedarPolicyClient } from "@agentgate/cedar";
import {
  type AccessRequest,
  AgentGateError,
  type AgentRecord,
  type Authority,
  defineAgent,
  isAgentGateError,
  type Supervision,
} from "@agentgate/core";
import { accessTime } from "@agentgate/core/internal";
import { readAuditLog } from "@agentgate/core/node";
import { Command, CommanderError, Option } from "commander";
import { z } from "zod";
import {
  registerAuditEvidenceCommands,
  registerWitnessCommand,
} from "./audit-evidence-commands.js";
import { csv, type Output, processOutput, table } from "./output.js";
import { accessReport } from "./report.js";
import { startServer } from "./server.js";
import { initWorkspace, openAuditedWorkspace, openWorkspace, type Workspace } from "./workspace.js";

/**
 * Bad input on the command line or in a file the user named (exit code 2). Its message says what
 * to change.
 */
export class CliUsageError extends Error {
  /** Stable code: `usage`. */
  readonly code = "usage";
  override readonly name = "CliUsageError";
}

/** Exit codes of `agentgate`. */
export const EXIT = { ok: 0, failed: 1, usage: 2, configuration: 3 } as const;

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
      return [
        "invalid_configuration",
        "key_store_invalid",
        "policy_invalid",
        "registry_unavailable",
      ].includes(error.code)
        ? EXIT.configuration
        : EXIT.failed;
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
    .showHelpAfterError()
    // Set before any subcommand is added, so every subcommand inherits them.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.out(text.trimEnd()),
      writeErr: (text) => output.err(text.trimEnd()),
    });
  const dir = () => program.opts<{ dir: string }>().dir;
  const workspace = () => openWorkspace(dir());
  // A key rotation or revocation, recorded in the directory's audit log when no gate holds it.
  const lifecycle = async (change: (authority: Authority) => Promise<string>) => {
    const opened = await openAuditedWorkspace(dir());
    try {
      output.out(await change(opened.workspace.authority));
    } finally {
      await opened.close();
    }
    if (opened.unaudited !== undefined) {
      output.err(
        `agentgate: done, but not written to the audit log (${opened.unaudited}). The change is in the directory's revocation list and key store; the gate holding the log records nothing of it.`,
      );
      fail(EXIT.failed);
    }
  };
  const print = (json: boolean, value: unknown, text: () => string) =>
    output.out(json ? JSON.stringify(value, null, 2) : text());

  program
    .command("init")
    .description("create a trust domain: keys, an agent registry, a config and an example policy")
    .requiredOption("--trust-domain <domain>", "e.g. acme.example")
    .requiredOption(
      "--audience <url>",
      "the audience of your tools' tokens, e.g. https://tools.acme.example",
    )
    .option("--time-zone <zone>", "IANA time zone of business hours", "UTC")
    .option("--json", "print JSON")
    .action(
      async (options: {
        trustDomain: string;
        audience: string;
        timeZone: string;
        json?: boolean;
      }) => {
        const created = await initWorkspace(dir(), {
          trustDomain: options.trustDomain,
          audience: options.audience,
          timeZone: options.timeZone,
        });
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
    .option("--expires <iso>", "registration expiry (ISO 8601)")
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
        const { registry } = await workspace();
        if ((await registry.get(id)) !== undefined)
          throw new AgentGateError("agent_exists", `Agent ${id} is already registered.`);
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
        await registry.put(record);
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
  for (const [name, supervision] of [
    ["suspend", "suspended"],
    ["resume", "autonomous"],
  ] as const) {
    agent
      .command(`${name} <id>`)
      .description(
        name === "suspend"
          ? "deny everything the agent does until resumed"
          : "make a suspended agent autonomous again",
      )
      .action(async (id: string) => {
        const { registry } = await workspace();
        const record = await registry.get(id);
        if (record === undefined) throw new AgentGateError("agent_unknown", `No agent ${id}.`);
        await registry.put({ ...record, supervision });
        output.out(`${id} is ${supervision}.`);
      });
  }
  agent
    .command("revoke <id>")
    .description(
      "revoke an agent for good: every gate sharing the directory denies it within a second",
    )
    .option("--reason <reason>")
    .action(async (id: string, options: { reason?: string }) => {
      await lifecycle(async (authority) => {
        await authority.revoke("agent", id, options.reason);
        return `${id} is revoked.`;
      });
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
    .action(async () => {
      await lifecycle(async (authority) => `New signing key ${(await authority.rotateKey()).kid}.`);
    });

  const token = program.command("token").description("agent tokens");
  token
    .command("issue <agent>")
    .description("issue a short-lived token (printed alone on stdout)")
    .option("--audience <url>", "default: the configured audience")
    .option("--scope <scope...>")
    .option("--ttl <seconds>", "lifetime in seconds", (value) => Number.parseInt(value, 10))
    .option("--principal <user>", "the user the agent acts for")
    .action(
      async (
        id: string,
        options: { audience?: string; scope?: string[]; ttl?: number; principal?: string },
      ) => {
        const { authority, config } = await workspace();
        const issued = await authority.issueToken(id, {
          audience: options.audience ?? config.audience,
          ...(options.scope ? { scope: options.scope } : {}),
          ...(options.ttl ? { ttlSeconds: options.ttl } : {}),
          ...(options.principal ? { principal: options.principal } : {}),
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
    .description("verify a token for an audience; exit 1 when it does not verify")
    .option("--audience <url>", "default: the configured audience")
    .option("--json", "print JSON")
    .action(async (value: string, options: { audience?: string; json?: boolean }) => {
      const { authority, config } = await workspace();
      try {
        const agentIdentity = await authority
          .verifier()
          .verify(value, { audience: options.audience ?? config.audience });
        const shown = {
          valid: true,
          agent: agentIdentity.agent.toString(),
          principal: agentIdentity.principal.id,
          chain: agentIdentity.chain,
          scopes: agentIdentity.scopes,
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
        print(
          options.json === true,
          { valid: false, code: error.code, reason: error.message },
          () => `invalid (${error.code}): ${error.message}`,
        );
        fail(EXIT.failed);
      }
    });

  const context: CommandContext = { workspace, output, print, fail };
  registerPolicyCommands(program, context);
  registerAuditCommands(program, context);
  registerWitnessCommand(program, { dir, output, fail });

  program
    .command("serve")
    .description("serve JWKS, discovery, the AuthZEN PDP, token exchange and the revocation feed")
    .option("--host <host>", "bind address", "127.0.0.1")
    .option("--port <port>", "port", (value) => Number.parseInt(value, 10), 8787)
    .option("--public-url <url>", "the URL clients use (default http://host:port)")
    .action(async (options: { host: string; port: number; publicUrl?: string }) => {
      // The server records the revocations its admin endpoints make, when no gate holds the log.
      const opened = await openAuditedWorkspace(dir());
      if (opened.unaudited !== undefined) {
        output.err(`agentgate: admin revocations will not be audited: ${opened.unaudited}`);
      }
      const server = await startServer({
        workspace: opened.workspace,
        host: options.host,
        port: options.port,
        ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
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
      await opened.close();
    });
  return program;
}

type Print = (json: boolean, value: unknown, text: () => string) => void;

/** What every group of commands needs: the directory, the streams, and the exit code. */
interface CommandContext {
  readonly workspace: () => Promise<Workspace>;
  readonly output: Output;
  readonly print: Print;
  readonly fail: (code: number) => void;
}

function registerPolicyCommands(program: Command, context: CommandContext): void {
  const { workspace, output, print, fail } = context;
  const policy = program.command("policy").description("Cedar policies");
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
    .option("--at <iso>", "the time of the call", new Date().toISOString())
    .option("--json", "print JSON")
    .action(async (options: CheckOptions & { json?: boolean }) => {
      const { config } = await workspace();
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
      for (const testCase of cases) {
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
  return {
    subject: {
      type: "agent",
      id: options.agent,
      properties: {
        owner: record?.owner ?? "",
        supervision: record?.supervision ?? "autonomous",
        labels: { ...(record?.labels ?? {}) },
        scopes,
        principal: options.agent,
        principalType: "agent",
        chain: [options.agent],
        delegated: false,
      },
    },
    action: {
      name: options.action ?? "execute",
      properties: { tool: options.tool, ...(options.server ? { server: options.server } : {}) },
    },
    resource: {
      type: "tool",
      id: options.server ? `${options.server}/${options.tool}` : options.tool,
      properties: resources,
    },
    context: {
      time: accessTime(instant, timeZone),
      environment: "policy-check",
      resources,
      arguments: args,
    },
  };
}

function registerAuditCommands(program: Command, context: CommandContext): void {
  const { workspace, output, print, fail } = context;
  const audit = program.command("audit").description("the audit log");
  registerAuditEvidenceCommands(audit, {
    dir: () => program.opts<{ dir: string }>().dir,
    output,
    fail,
  });
  const query = (command: Command) =>
    command
      .option("--agent <id>")
      .option("--tool <name>")
      .option("--type <type>")
      .option("--denied", "only denials")
      .option("--from <iso>")
      .option("--to <iso>");
  const read = async (options: {
    agent?: string;
    tool?: string;
    type?: string;
    denied?: boolean;
    from?: string;
    to?: string;
  }) => {
    const events = [];
    for await (const record of readAuditLog((await workspace()).audit, {
      ...(options.agent ? { agent: options.agent } : {}),
      ...(options.tool ? { tool: options.tool } : {}),
      ...(options.type ? { type: options.type as "decision" } : {}),
      ...(options.denied ? { allowed: false } : {}),
      ...(options.from ? { from: options.from } : {}),
      ...(options.to ? { to: options.to } : {}),
    })) {
      events.push(record);
    }
    return events;
  };
  const flat = (events: Awaited<ReturnType<typeof read>>) =>
    events.map((event) => ({
      seq: event.seq,
      time: event.time,
      type: event.type,
      agent: event.agent,
      tool: event.tool?.name,
      allowed: event.decision?.allowed,
      code: event.decision?.code ?? event.outcome?.errorCode,
      chain: event.chain?.join(" > "),
    }));
  query(
    audit.command("query").description("events matching filters").option("--json", "print JSON"),
  ).action(async (options) => {
    const events = await read(options);
    print(options.json === true, events, () =>
      table(flat(events), ["seq", "time", "type", "agent", "tool", "allowed", "code"]),
    );
  });
  audit
    .command("tail")
    .description("the last events")
    .option("-n, --lines <count>", "how many", (value) => Number.parseInt(value, 10), 20)
    .option("--json", "print JSON")
    .action(async (options: { lines: number; json?: boolean }) => {
      const events = (await read({})).slice(-options.lines);
      print(options.json === true, events, () =>
        table(flat(events), ["seq", "time", "type", "agent", "tool", "allowed", "code"]),
      );
    });
  query(
    audit
      .command("export")
      .description("events as JSON Lines or CSV")
      .addOption(new Option("--format <format>").choices(["jsonl", "csv"]).default("jsonl")),
  ).action(async (options) => {
    const events = await read(options);
    output.out(
      options.format === "csv"
        ? csv(flat(events), ["seq", "time", "type", "agent", "tool", "allowed", "code", "chain"])
        : events.map((event) => JSON.stringify(event)).join("\n"),
    );
  });
  audit
    .command("report")
    .description("per agent: owner, supervision, calls, denials, tools, unused scopes, findings")
    .option("--from <iso>")
    .option("--to <iso>")
    .option(
      "--idle-days <days>",
      "report agents idle this long",
      (value) => Number.parseInt(value, 10),
      30,
    )
    .option("--json", "print JSON")
    .option("--csv", "print CSV")
    .action(
      async (options: {
        from?: string;
        to?: string;
        idleDays: number;
        json?: boolean;
        csv?: boolean;
      }) => {
        const space = await workspace();
        const rows = await accessReport(space.audit, await space.registry.list(), {
          idleDays: options.idleDays,
          ...(options.from ? { from: options.from } : {}),
          ...(options.to ? { to: options.to } : {}),
        });
        const columns = [
          "agent",
          "owner",
          "supervision",
          "calls",
          "denials",
          "tools",
          "scopesNeverPresented",
          "findings",
        ];
        if (options.csv === true)
          output.out(csv(rows as unknown as Record<string, unknown>[], columns));
        else
          print(options.json === true, rows, () =>
            table(rows as unknown as Record<string, unknown>[], columns),
          );
      },
    );
}
