import { mkdirSync, writeFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, Server as HttpsServer } from "node:https";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { PeerCertificate } from "node:tls";
import {
  Authority,
  allow,
  defineAgent,
  deny,
  FunctionPolicyClient,
  Gate,
  type GateOptions,
} from "@agentgate/core";
import { FileKeyStore, FileRevocationList, JsonFileAgentRegistry } from "@agentgate/core/node";
import { createTestGate, MemoryAuditSink, type TestGateOptions } from "@agentgate/core/testing";
import { CertificateAuthority, type IssuedSvid } from "@agentgate/core/x509";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FetchLike, Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { afterEach } from "vitest";
import * as z from "zod";
import { authenticateRequest, type McpAuthOptions } from "../src/http-auth.js";
import { mtlsServerOptions } from "../src/mtls.js";
import { type GuardMcpServerOptions, guardMcpServer } from "../src/server-guard.js";

/** The agent that may read on the crm server. */
export const SUPPORT = "spiffe://acme.example/agent/support";
/** A registered agent with no scopes. */
export const INTERN = "spiffe://acme.example/agent/intern";
/** The default audience of {@link setup}. */
export const CRM = "https://mcp.acme.example/crm";

/** Policy: support may read on the crm server; nobody may call crm's delete tool; else deny. */
export const policy = new FunctionPolicyClient((request) => {
  const { subject, action } = request;
  if (action.properties.server !== "crm") return deny("unknown server", { policies: ["servers"] });
  if (subject.id === SUPPORT && action.name === "read")
    return allow("support reads crm", { policies: ["support-read"] });
  return deny("not permitted", { policies: ["default"] });
});

/**
 * A test gate for `audience` with {@link policy}, SUPPORT and INTERN registered, and an in-memory
 * guarded crm server with a read-only `lookup` and a destructive `purge` tool that record their
 * calls in `calls`.
 */
export async function setup(
  audience = CRM,
  gateOptions: Pick<TestGateOptions, "spiffeBundles"> = {},
) {
  const { registry, authority, audit, gate, credentials } = await createTestGate({
    ...gateOptions,
    audience,
    policy,
    agents: [
      { id: SUPPORT, owner: "alice@acme.example", maxScopes: ["crm:read"] },
      { id: INTERN, owner: "bob@acme.example", maxScopes: [] },
    ],
  });
  const calls: string[] = [];
  const server = new McpServer({ name: "crm", version: "1.0.0" });
  guardMcpServer(server, { gate, serverId: "crm" });
  server.registerTool(
    "lookup",
    {
      description: "Look up a customer",
      inputSchema: { customerId: z.string() },
      annotations: { readOnlyHint: true },
    },
    async ({ customerId }) => {
      calls.push(`lookup:${customerId}`);
      return { content: [{ type: "text", text: `customer ${customerId}` }] };
    },
  );
  const purge = server.registerTool(
    "purge",
    {
      description: "Delete a customer",
      inputSchema: { customerId: z.string() },
      annotations: { destructiveHint: true },
    },
    async ({ customerId }) => {
      calls.push(`purge:${customerId}`);
      return { content: [{ type: "text", text: "purged" }] };
    },
  );
  return { registry, authority, audit, gate, server, calls, purge, credentials };
}

/** What {@link setup} resolves with. */
export type TestContext = Awaited<ReturnType<typeof setup>>;

/**
 * A real SDK client named `name` connected to `server` (an `McpServer`, or a low-level `Server`
 * such as a proxy) over the in-memory transport.
 */
export async function connect(
  server: { connect(transport: Transport): Promise<void> },
  name = "agent",
): Promise<Client> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(clientTransport);
  return client;
}

/** What a test opened and must close again, see {@link cleanupAfterEach}. */
export type Cleanups = Array<() => unknown>;

/**
 * A list for what each test opens (servers, clients, connections): an `afterEach` of the calling
 * test file runs and empties it, last pushed first. Call it once at a test file's top level.
 */
export function cleanupAfterEach(): Cleanups {
  const cleanups: Cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

/** The headers of a JSON-RPC POST to a Streamable HTTP MCP endpoint. */
export const JSON_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** A JSON-RPC `tools/list` request, as a POST body. */
export const LIST = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" });

/**
 * An MCP server named crm, guarded with `guard`, with one read-only tool, `lookup`, that records
 * each call in `calls` (unlike {@link setup}'s, it has no description).
 */
export function crmServer(guard: GuardMcpServerOptions, calls: string[]): McpServer {
  const mcp = new McpServer({ name: "crm", version: "1.0.0" });
  guardMcpServer(mcp, guard);
  mcp.registerTool(
    "lookup",
    { inputSchema: { customerId: z.string() }, annotations: { readOnlyHint: true } },
    async ({ customerId }) => {
      calls.push(`lookup:${customerId}`);
      return { content: [{ type: "text", text: `customer ${customerId}` }] };
    },
  );
  return mcp;
}

/**
 * Answers one HTTP request as a guarded server over Streamable HTTP does: `authenticateRequest`
 * with `auth` (a 401 and nothing else when it refuses), then a fresh {@link crmServer} behind
 * `gate` on a stateless transport (one per request) with JSON responses.
 */
export async function serveCrm(
  request: IncomingMessage & { auth?: AuthInfo },
  response: ServerResponse,
  auth: McpAuthOptions & { readonly resourceMetadataUrl?: string },
  gate: Gate,
  calls: string[],
): Promise<void> {
  const verified = await authenticateRequest(request, response, auth);
  if (verified === undefined) return;
  request.auth = verified;
  const mcp = crmServer({ gate, serverId: "crm" }, calls);
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  await mcp.connect(transport);
  await transport.handleRequest(request, response);
}

/**
 * Listens on a free port of 127.0.0.1 and resolves with `http://127.0.0.1:<port>` (`https://`
 * for a TLS server). `cleanups` closes the server and its open connections: a client's late
 * stream request (the SDK's optional GET) must not hold the close open.
 */
export async function listen(
  server: HttpServer | HttpsServer,
  cleanups: Cleanups,
): Promise<string> {
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const scheme = server instanceof HttpsServer ? "https" : "http";
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Options of {@link httpCrmServer}. */
export interface HttpCrmServerOptions {
  /** Bearer-check options besides the verifier and the audience, asked for on every request. */
  readonly auth?: (
    context: TestContext,
    base: string,
  ) => Partial<McpAuthOptions> & { readonly resourceMetadataUrl?: string };
  /** Options of the test gate {@link setup} makes. */
  readonly gate?: Pick<TestGateOptions, "spiffeBundles">;
  /** Answers a request itself before the bearer check, when it returns `true`. */
  readonly route?: (
    request: IncomingMessage,
    response: ServerResponse,
    context: TestContext,
    base: string,
  ) => boolean;
}

/**
 * A guarded crm server over plain HTTP on 127.0.0.1 ({@link serveCrm}): the bearer check and
 * {@link setup}'s gate are for `<base>/mcp`, the tool records its calls in `context.calls`.
 */
export async function httpCrmServer(
  cleanups: Cleanups,
  options: HttpCrmServerOptions = {},
): Promise<{ base: string; context: TestContext }> {
  // The audience names the port, known once the server listens: the gate is made after.
  const state: { base: string; context?: TestContext } = { base: "" };
  const server = createHttpServer(async (request, response) => {
    const context = state.context as TestContext;
    if (options.route?.(request, response, context, state.base) === true) return;
    await serveCrm(
      request,
      response,
      {
        verifier: context.authority.verifier(),
        audience: `${state.base}/mcp`,
        ...options.auth?.(context, state.base),
      },
      context.gate,
      context.calls,
    );
  });
  state.base = await listen(server, cleanups);
  state.context = await setup(`${state.base}/mcp`, options.gate);
  return { base: state.base, context: state.context };
}

/** The SPIFFE ID of the crm server's own SVID in the mTLS tests. */
export const SERVER_ID = "spiffe://acme.example/agent/crm-server";

/** The audience of {@link tlsCrmServer}'s bearer check and gate. */
export const TLS_AUDIENCE = "https://127.0.0.1/mcp";

/** The server is known by its SVID's URI SAN, not a host name: SPIFFE's way for workloads. */
export function expectServer(id: string) {
  return (_host: string, certificate: PeerCertificate) =>
    certificate.subjectaltname === `URI:${id}` ? undefined : new Error(`not ${id}`);
}

/** `svid`'s key and chain with `ca`'s bundle: what `mtlsFetch` needs to call as that SVID. */
export function mtlsCredentials(
  ca: CertificateAuthority,
  svid: Pick<IssuedSvid, "privateKeyPem" | "chainPem">,
): { key: string; cert: string; ca: string } {
  return { key: svid.privateKeyPem ?? "", cert: svid.chainPem, ca: ca.bundle().toPem() };
}

/** Options of {@link tlsCrmServer}. */
export interface TlsCrmServerOptions {
  /** Gate options besides audience, verifier, registry, policy and audit. */
  readonly gate?: (context: TestContext, ca: CertificateAuthority) => Partial<GateOptions>;
  /** Bearer-check options besides the verifier and the audience, asked for on every request. */
  readonly auth?: (context: TestContext, ca: CertificateAuthority) => Partial<McpAuthOptions>;
  /** TLS options over `mtlsServerOptions`' (which require a client certificate). */
  readonly tls?: { readonly rejectUnauthorized?: boolean };
}

/**
 * A guarded crm server over Streamable HTTP and TLS on 127.0.0.1 ({@link serveCrm}), its
 * certificate an SVID of {@link SERVER_ID} from a fresh CA of acme.example whose bundle it trusts
 * for client certificates. Its bearer check and its gate are for {@link TLS_AUDIENCE}; the gate
 * is a new one over {@link setup}'s registry and authority, auditing to `audit`, and the tool
 * records its calls in `calls`.
 */
export async function tlsCrmServer(cleanups: Cleanups, options: TlsCrmServerOptions = {}) {
  const ca = await CertificateAuthority.open({ trustDomain: "acme.example" });
  const context = await setup("https://pending.invalid/mcp");
  const audit = new MemoryAuditSink();
  const gate = new Gate({
    audience: TLS_AUDIENCE,
    verifier: context.authority.verifier(),
    registry: context.registry,
    policy,
    audit,
    ...options.gate?.(context, ca),
  });
  const serverSvid = await ca.issue(SERVER_ID);
  const calls: string[] = [];
  const server = createHttpsServer(
    {
      ...mtlsServerOptions({
        key: serverSvid.privateKeyPem ?? "",
        cert: serverSvid.chainPem,
        bundle: ca.bundle().toPem(),
      }),
      ...options.tls,
    },
    (request, response) =>
      serveCrm(
        request,
        response,
        {
          verifier: context.authority.verifier(),
          audience: TLS_AUDIENCE,
          ...options.auth?.(context, ca),
        },
        gate,
        calls,
      ),
  );
  const base = await listen(server, cleanups);
  return { base, ca, context, audit, calls };
}

/** A real SDK client over Streamable HTTP to `url`, sending through `fetch` when given. */
export async function connectHttp(url: string, fetch?: FetchLike): Promise<Client> {
  const client = new Client({ name: "agent", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), fetch === undefined ? undefined : { fetch }),
  );
  return client;
}

const require = createRequire(import.meta.url);

/** The published reference server, `@modelcontextprotocol/server-everything`, to run over stdio. */
export const EVERYTHING = join(
  require.resolve("@modelcontextprotocol/server-everything/package.json"),
  "..",
  "dist",
  "index.js",
);

/** The first text of a tool result (`""` without one). */
export const text = (result: unknown) =>
  (result as { content: Array<{ text?: string }> }).content[0]?.text ?? "";

/**
 * A client of {@link EVERYTHING} started unmodified as a child process over stdio, as a proxy's
 * upstream; `cleanups` closes it.
 */
export async function everythingUpstream(cleanups: Cleanups): Promise<Client> {
  const upstream = new Client({ name: "agentgate-proxy-test", version: "1.0.0" });
  await upstream.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [EVERYTHING, "stdio"],
      stderr: "ignore",
    }),
  );
  cleanups.push(() => upstream.close());
  return upstream;
}

/** Options of {@link agentGateDirectory}. */
export interface AgentGateDirectoryOptions {
  /** The audience in `config.json`. */
  readonly audience: string;
  /** The agents registered in `agents.json`. */
  readonly agents: ReadonlyArray<{ readonly id: string; readonly owner: string }>;
  /** Cedar policy files of `policies/`, by file name. */
  readonly policies: Readonly<Record<string, string>>;
}

/**
 * Makes `dir` an AgentGate directory for the trust domain acme.example, as the proxy command
 * reads it: `agents.json`, the authority's keys and revocations, `config.json` and `policies/`.
 * Resolves with its authority.
 */
export async function agentGateDirectory(
  dir: string,
  options: AgentGateDirectoryOptions,
): Promise<Authority> {
  const registry = new JsonFileAgentRegistry(join(dir, "agents.json"));
  for (const agent of options.agents) await registry.put(defineAgent(agent));
  const authority = await Authority.create({
    trustDomain: "acme.example",
    registry,
    revocations: new FileRevocationList(join(dir, "revocations.jsonl")),
    keyStore: new FileKeyStore(join(dir, "keys")),
  });
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({ trustDomain: "acme.example", audience: options.audience }),
  );
  mkdirSync(join(dir, "policies"));
  for (const [file, cedar] of Object.entries(options.policies)) {
    writeFileSync(join(dir, "policies", file), cedar);
  }
  return authority;
}
