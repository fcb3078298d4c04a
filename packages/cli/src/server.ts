import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { CedarPolicyClient } from "@agentgate/cedar";
import { AgentGateError, type AuditSink, ExternalIssuer } from "@agentgate/core";
import { auditLogOptions, openAuditWriter } from "@agentgate/core/node";
import { createAdaptorServer } from "@hono/node-server";
import { createApp, type RouteModule } from "./server/app.js";
import { policyLoads } from "./server-audit.js";
import type { Workspace } from "./workspace.js";

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** The trust domain's directory, opened (keys, registry, policies, audit log). */
  readonly workspace: Workspace;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 8787; 0 picks a free port. */
  readonly port?: number;
  /** Bearer token for `/admin/*`; without it the admin endpoints answer 403. */
  readonly adminToken?: string;
  /**
   * The URL clients reach the server at (issuer and PDP metadata); default
   * `http://<host>:<port>`, or `https://…` when `tls` is given.
   */
  readonly publicUrl?: string;
  /** Serve HTTPS with this PEM key and certificate chain. */
  readonly tls?: {
    readonly key: string | Buffer;
    readonly cert: string | Buffer;
    /**
     * Require a client certificate signed by one of these CAs (PEM; for the directory's own
     * agents, its X.509 bundle): mutual TLS, refused at the handshake otherwise.
     */
    readonly clientCa?: string | Buffer;
  };
  /** Route modules beyond the built-in ones (see `ROUTE_MODULES`). */
  readonly modules?: readonly RouteModule[];
  /**
   * Where policy loads, admin changes and token exchanges are recorded, each before it takes
   * effect (SECURITY.md K83). Default: a chain of the server's own in the workspace's audit log
   * (`openAuditWriter`), closed with the server and released when it cannot start.
   */
  readonly audit?: AuditSink;
  /**
   * DANGEROUS, for tests only: fetch the trusted IdPs' discovery and JWKS over http and from
   * loopback or private addresses (SECURITY.md I67). Default `false`.
   */
  readonly dangerouslyAllowInsecureIdpUrlsForTests?: boolean;
}

/** A running server. */
export interface RunningServer {
  /** Its base URL (the PDP identifier of its AuthZEN metadata). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `agentgate serve`: JWKS and OpenID-style discovery, the OpenID AuthZEN 1.0 PDP (evaluation,
 * batch and search) backed by the directory's Cedar policies (hot-reloaded), RFC 8693 token
 * exchange for delegation, a revocation feed, admin endpoints (revoke, suspend) behind a bearer
 * token, and health checks; on hono, one route module per concern (see `createApp`).
 *
 * Every policy load, admin change and token exchange is an audit event (K83); the server does
 * not start unless the first policy load is recorded.
 *
 * Rejects with `invalid_configuration` when the port is taken or the address cannot be bound,
 * saying which, so `agentgate serve` can exit with one line and code 3.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { workspace } = options;
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8787;
  // A chain of its own, so that a gate can still open the log while the server runs; anchored
  // by the witness of config.json when there is one (SECURITY.md K79).
  // On a database (`--database`), the server's chain is its own there; its close ends the stores.
  const audit =
    options.audit ??
    (workspace.stores === undefined
      ? await openAuditWriter(workspace.audit, {
          ...auditLogOptions(workspace.config),
          ownChain: true,
        })
      : workspace.stores.audit);
  const ownAudit = async () => {
    if (options.audit === undefined) await audit.close();
    await workspace.stores?.close();
  };
  const loads = policyLoads(audit);
  let policy: CedarPolicyClient;
  try {
    policy = CedarPolicyClient.fromDirectory(workspace.policies, {
      watch: true,
      onLoad: loads.record,
    });
  } catch (error) {
    await ownAudit();
    throw error;
  }
  // Not started: release the watcher and the chain this server opened.
  const release = async () => {
    await policy.close();
    await ownAudit();
  };
  try {
    await loads.first();
  } catch (error) {
    await release();
    throw error;
  }
  let base = options.publicUrl ?? "";
  const app = createApp(
    {
      workspace,
      policy,
      audit,
      ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
      baseUrl: () => base,
      externalIssuers: externalIssuers(
        workspace,
        options.dangerouslyAllowInsecureIdpUrlsForTests === true,
      ),
    },
    options.modules === undefined ? {} : { modules: options.modules },
  );
  const server = createAdaptorServer({
    fetch: app.fetch,
    ...(options.tls === undefined
      ? {}
      : {
          createServer: createHttpsServer,
          serverOptions: {
            key: options.tls.key,
            cert: options.tls.cert,
            ...(options.tls.clientCa === undefined
              ? {}
              : { ca: options.tls.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
        }),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await release();
    const code = (error as { code?: string }).code;
    throw new AgentGateError(
      "invalid_configuration",
      code === "EADDRINUSE"
        ? `Port ${port} on ${host} is already in use: stop what holds it or pass --port.`
        : `Cannot listen on ${host}:${port} (${code ?? (error instanceof Error ? error.message : "unknown error")}).`,
      { cause: error },
    );
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  base = options.publicUrl ?? `${options.tls ? "https" : "http"}://${shown}:${address.port}`;
  return {
    url: base,
    close: async () => {
      await policy.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // close() only stops new connections: a client polling over keep-alive (a revocation
      // feed) would go on being served, and close() would wait for it forever. Stopped means
      // stopped: its clients must see the server gone (and a feed then fails closed, D36).
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      await ownAudit();
    },
  };
}

/** The trusted IdPs of config.json, discovered once on first use; a failed discovery is retried. */
function externalIssuers(
  workspace: Workspace,
  insecure: boolean,
): () => Promise<readonly ExternalIssuer[]> {
  let found: Promise<readonly ExternalIssuer[]> | undefined;
  return () => {
    found ??= Promise.all(
      (workspace.config.trustedIssuers ?? []).map((config) =>
        ExternalIssuer.discover(config, insecure ? { allowInsecureMetadataUrls: true } : {}),
      ),
    ).catch((error: unknown) => {
      found = undefined;
      throw error;
    });
    return found;
  };
}
