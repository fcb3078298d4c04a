import { Hono } from "hono";
import { openCertificateAuthority } from "../cert-commands.js";
import type { ServerContext } from "./server-context.js";

/**
 * The trust domain's X.509 bundle, published: `/.well-known/spiffe-bundle` in the SPIFFE bundle
 * JWKS form (`use: "x509-svid"`, SPIFFE Trust Domain and Bundle §4) and `/x509/bundle.pem` for TLS
 * stacks. Public data: the CA certificates only, never a key. The CA is created on first use.
 */
export function bundleRoutes(context: ServerContext): Hono {
  const bundle = async () => (await openCertificateAuthority(context.workspace)).bundle();
  return new Hono()
    .get("/.well-known/spiffe-bundle", async (c) =>
      c.json(await (await bundle()).toJwks({ refreshHintSeconds: 300 })),
    )
    .get("/x509/bundle.pem", async (c) =>
      c.body((await bundle()).toPem(), 200, { "content-type": "application/x-pem-file" }),
    );
}
