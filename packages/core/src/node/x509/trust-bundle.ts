import { AgentGateError } from "../../errors.js";
import { fingerprintOf, subtle, x509 } from "./x509-runtime.js";

/** One X.509 authority of a SPIFFE bundle in JWKS form (SPIFFE Trust Domain and Bundle §4.2.1). */
export interface X509BundleJwk {
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly use: "x509-svid";
  /** The authority's certificate, base64 DER, alone. */
  readonly x5c: readonly [string];
}

/** A SPIFFE trust bundle in JWKS form (`spiffe_sequence`, `spiffe_refresh_hint` in seconds). */
export interface SpiffeBundleJwks {
  readonly keys: readonly X509BundleJwk[];
  readonly spiffe_sequence?: number;
  readonly spiffe_refresh_hint?: number;
}

const MAX_ROOTS = 16;

/**
 * The X.509 authorities of one trust domain: what a verifier trusts and what the authority
 * publishes (PEM for TLS stacks, the SPIFFE bundle JWKS form for SPIFFE tooling). Every entry must
 * be a CA certificate; the bundle never holds a leaf.
 *
 * @example
 * ```ts
 * const bundle = TrustBundle.fromPem("acme.example", readFileSync("bundle.pem", "utf8"));
 * bundle.toPem(); // for node:tls `ca`
 * ```
 */
export class TrustBundle {
  /** The trust domain whose SVIDs these authorities sign. */
  readonly trustDomain: string;
  readonly #roots: readonly x509.X509Certificate[];

  private constructor(trustDomain: string, roots: readonly x509.X509Certificate[]) {
    this.trustDomain = trustDomain;
    this.#roots = roots;
  }

  /** A bundle of `certificates` (PEM strings or DER bytes) for `trustDomain`. */
  static of(trustDomain: string, certificates: readonly (string | Uint8Array)[]): TrustBundle {
    if (certificates.length === 0 || certificates.length > MAX_ROOTS) {
      throw new AgentGateError("invalid_configuration", `A trust bundle holds 1-${MAX_ROOTS} CAs.`);
    }
    const roots = certificates.map((entry) => new x509.X509Certificate(entry));
    for (const root of roots) {
      if (root.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
        throw new AgentGateError(
          "invalid_configuration",
          `Trust bundle entry ${root.subject} is not a CA certificate.`,
        );
      }
    }
    return new TrustBundle(trustDomain, Object.freeze(roots));
  }

  /** Parses a PEM file of one or more `CERTIFICATE` blocks. */
  static fromPem(trustDomain: string, pem: string): TrustBundle {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
    if (blocks === null) {
      throw new AgentGateError("invalid_configuration", "The trust bundle holds no certificate.");
    }
    return TrustBundle.of(trustDomain, blocks);
  }

  /** The authorities, for chain building (read-only). */
  get authorities(): readonly x509.X509Certificate[] {
    return this.#roots;
  }

  /** Every authority as PEM, one after the other: what `node:tls` takes as `ca`. */
  toPem(): string {
    return this.#roots.map((root) => root.toString("pem")).join("\n");
  }

  /** SHA-256 fingerprints (hex) of the authorities. */
  fingerprints(): Promise<string[]> {
    return Promise.all(this.#roots.map((root) => fingerprintOf(root)));
  }

  /**
   * The SPIFFE bundle JWKS form: each authority's public key with `use: "x509-svid"` and its
   * certificate alone in `x5c` (SPIFFE Trust Domain and Bundle §4.2.1).
   */
  async toJwks(
    options: { sequence?: number; refreshHintSeconds?: number } = {},
  ): Promise<SpiffeBundleJwks> {
    const keys = await Promise.all(
      this.#roots.map(async (root): Promise<X509BundleJwk> => {
        const key = await root.publicKey.export();
        const { kty, crv, x, y } = await subtle.exportKey("jwk", key);
        return {
          kty: kty ?? "EC",
          ...(crv === undefined ? {} : { crv }),
          ...(x === undefined ? {} : { x }),
          ...(y === undefined ? {} : { y }),
          use: "x509-svid",
          x5c: [Buffer.from(root.rawData).toString("base64")],
        };
      }),
    );
    return {
      keys,
      ...(options.sequence === undefined ? {} : { spiffe_sequence: options.sequence }),
      ...(options.refreshHintSeconds === undefined
        ? {}
        : { spiffe_refresh_hint: options.refreshHintSeconds }),
    };
  }
}
