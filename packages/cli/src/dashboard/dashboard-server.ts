import type { AddressInfo } from "node:net";
import { CedarPolicyClient } from "@agentgate/cedar";
import { AgentGateError, type PolicyClient } from "@agentgate/core";
import { createAdaptorServer } from "@hono/node-server";
import { witnessSettings } from "../audit-evidence-commands.js";
import type { Workspace } from "../workspace.js";
import { createDashboardApp } from "./app.js";
import { dashboardSessions } from "./sessions.js";
import { defaultAssetsDirectory, loadStaticAssets } from "./static-assets.js";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** The trust domain's directory, opened (read only: nothing is written). */
  readonly workspace: Workspace;
  /** A loopback address: `127.0.0.1` (default), `::1` or `localhost`. */
  readonly host?: string;
  /** Default 8788; 0 picks a free port. */
  readonly port?: number;
  /** The admin token: when set, the login page also accepts it (typed, never in a URL). */
  readonly adminToken?: string;
  /** The audit log to show. Default: the workspace's. */
  readonly audit?: string;
  /** The Cedar policies to ask. Default: the workspace's; unreadable ones are skipped, said so. */
  readonly policies?: string;
  /** Dormancy window of the least-privilege findings, days. Default 30. */
  readonly dormantDays?: number;
  /** The people and teams that may own agents. */
  readonly knownOwners?: ReadonlySet<string>;
  /** Witness URL and key (default: config.json's `audit.witness`). */
  readonly witness?: string;
  readonly witnessKey?: string;
  /** The browser app's build. Default: the package's own. */
  readonly assets?: string;
}

/** A running dashboard. */
export interface RunningDashboard {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** A fresh one-time login URL (single use, valid ten minutes). */
  loginUrl(): string;
  /** Whether the Cedar policies load (and so are asked for the findings). */
  readonly policiesAsked: boolean;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * `agentgate dashboard`: the read-only web dashboard of a trust domain on a loopback address:
 * inventory, activity, denials, least privilege and integrity, from the audit log verified on
 * every request. Rejects with `invalid_configuration` for a non-loopback host, a busy port, or a
 * missing browser build.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const { workspace } = options;
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host))
    throw new AgentGateError(
      "invalid_configuration",
      `--host ${host}: the dashboard listens on a loopback address only (127.0.0.1, ::1, localhost).`,
    );
  const assets = loadStaticAssets(options.assets ?? defaultAssetsDirectory());
  if (!assets.has("/index.html"))
    throw new AgentGateError(
      "invalid_configuration",
      "The dashboard's browser app is missing from this installation (dist/dashboard-web).",
    );
  let policy: PolicyClient | undefined;
  try {
    policy = CedarPolicyClient.fromDirectory(options.policies ?? workspace.policies, {
      watch: true,
    });
  } catch {
    policy = undefined;
  }
  const witness = witnessSettings(workspace.directory, {
    ...(options.witness === undefined ? {} : { witness: options.witness }),
    ...(options.witnessKey === undefined ? {} : { witnessKey: options.witnessKey }),
  });
  const sessions = dashboardSessions(
    options.adminToken === undefined ? {} : { adminToken: options.adminToken },
  );
  let hosts: ReadonlySet<string> = new Set();
  const app = createDashboardApp({
    source: {
      trustDomain: workspace.config.trustDomain,
      audit: options.audit ?? workspace.audit,
      verify: {
        ...(witness.witness === undefined ? {} : { witness: witness.witness }),
        ...(witness.witnessKey === undefined ? {} : { witnessKey: witness.witnessKey }),
        ...(witness.url === undefined ? {} : { witnessName: witness.url }),
      },
      agents: () => workspace.registry.list(),
      revoked: (agent) => workspace.revocations.isRevoked("agent", agent),
      ...(policy === undefined ? {} : { policy }),
      timeZone: workspace.config.timeZone ?? "UTC",
      environment: workspace.config.environment ?? "development",
      ...(options.dormantDays === undefined ? {} : { dormantDays: options.dormantDays }),
      ...(options.knownOwners === undefined ? {} : { knownOwners: options.knownOwners }),
    },
    sessions,
    assets,
    allowedHosts: () => hosts,
    ...(witness.url === undefined ? {} : { witness: witness.url }),
  });
  const server = createAdaptorServer({ fetch: app.fetch });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 8788, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await policy?.close?.();
    const code = (error as { code?: string }).code;
    throw new AgentGateError(
      "invalid_configuration",
      code === "EADDRINUSE"
        ? `Port ${options.port ?? 8788} on ${host} is already in use: pass --port.`
        : `Cannot listen on ${host}:${options.port ?? 8788} (${code ?? "unknown error"}).`,
      { cause: error },
    );
  }
  const { port } = server.address() as AddressInfo;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const url = `http://${host === "::1" ? "[::1]" : host}:${port}`;
  return {
    url,
    loginUrl: () => `${url}/login?code=${sessions.issueCode()}`,
    policiesAsked: policy !== undefined,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      await policy?.close?.();
    },
  };
}
