// oidc-provider ships no types; the tests use only its constructor and callback().
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";
  // biome-ignore lint/style/noDefaultExport: the package exports its class as default
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
