/**
 * `@agentgate/core/node`: the file-backed embedded defaults. Node.js only; the root entry of
 * `@agentgate/core` stays free of `node:` modules so it also runs on edge runtimes.
 */
export { FileKeyStore, type FileKeyStoreOptions } from "./file-key-store.js";
export {
  FileRevocationList,
  type FileRevocationListOptions,
} from "./file-revocation-list.js";
export {
  JsonFileAgentRegistry,
  type JsonFileAgentRegistryOptions,
} from "./json-file-agent-registry.js";
