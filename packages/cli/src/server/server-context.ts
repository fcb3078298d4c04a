import type { CedarPolicyClient } from "@agentgate/cedar";
import type { AuditSink, ExternalIssuer } from "@agentgate/core";
import type { Workspace } from "../workspace.js";

/** What every route module of the server is built from. */
export interface ServerContext {
  /** The trust domain's directory, opened. */
  readonly workspace: Workspace;
  /** The embedded engine deciding AuthZEN requests. */
  readonly policy: CedarPolicyClient;
  /**
   * Where admin changes and token exchanges are recorded, each before it takes effect
   * (SECURITY.md K83): a change whose event cannot be written is not made.
   */
  readonly audit: AuditSink;
  /** Bearer token of `/admin/*`; without it the admin endpoints answer 403. */
  readonly adminToken?: string;
  /**
   * The trusted enterprise IdPs of config.json, discovered on first use (and again after a
   * failed discovery).
   */
  readonly externalIssuers?: () => Promise<readonly ExternalIssuer[]>;
  /** The URL clients reach the server at (`https://…` when served over TLS), known once listening. */
  readonly baseUrl: () => string;
}
