/**
 * `@agentgate/cli`: the `agentgate` command and its server, usable as a library too.
 */
export { FeedRevocationList, type FeedRevocationListOptions } from "./feed-revocation-list.js";
export { listStarters, type WrittenStarter, writeStarter } from "./new-starter.js";
export { type Output, processOutput } from "./output.js";
export { CliUsageError, EXIT, runCli } from "./program.js";
export { type AgentReportRow, accessReport, type ReportOptions } from "./report.js";
export {
  type AppOptions,
  createApp,
  MAX_BODY_BYTES,
  ROUTE_MODULES,
  type RouteModule,
} from "./server/app.js";
export type { ServerContext } from "./server/server-context.js";
export { type RunningServer, type ServeOptions, startServer } from "./server.js";
export { initWorkspace, openWorkspace, type Workspace } from "./workspace.js";
