import { compactVerify, decodeProtectedHeader } from "jose";
import { type Clock, epochSeconds, systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import { parseStrictJson } from "../internal/strict-json.js";
import { JwksKeySet } from "./key-set.js";
import { checkMetadataUrl, type MetadataUrlOptions } from "./metadata-url.js";

/** Which claims of an enterprise IdP's token name the user, and which carry its groups. */
export interface ClaimMapping {
  /** The claim that identifies the user. Default `sub`. */
  readonly sub?: string;
  /** The claim with the user's email. Default `email`. */
  readonly email?: string;
  /** The claim with the user's groups or roles (an array of strings). Default `groups`. */
  readonly groups?: string;
}

/**
 * A trusted enterprise identity provider (Okta, Entra ID, any OpenID Provider), as `config.json`
 * lists it under `trustedIssuers`.
 */
export interface ExternalIssuerConfig {
  /** The IdP's issuer URL, exactly as its tokens' `iss` (https). */
  readonly issuer: string;
  /** The `aud` its tokens must carry to be exchanged here (the client id AgentGate is known by). */
  readonly audience: string;
  /** Claim mapping. Default `sub`, `email`, `groups`. */
  readonly claims?: ClaimMapping;
}

/** Options of {@link ExternalIssuer.discover}. */
export interface ExternalIssuerOptions extends MetadataUrlOptions {
  /** Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** How long fetched keys are used before they are fetched again, in seconds. Default 600. */
  readonly cacheSeconds?: number;
  /** Shortest time between two fetches caused by unknown key ids, in seconds. Default 30. */
  readonly minRefreshSeconds?: number;
  /** Allowed clock skew, in seconds. Default 60. */
  readonly clockSkewSeconds?: number;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

/** A user of an enterprise IdP, from a verified token of it. */
export interface ExternalUser {
  /** The principal AgentGate gives the user: `user:<email>`, or `user:<sub>` without an email. */
  readonly id: string;
  /** The IdP's subject for the user. */
  readonly subject: string;
  readonly email?: string | undefined;
  /** The user's groups or roles at the IdP, at the token's issue. */
  readonly groups: readonly string[];
  /** The IdP's issuer. */
  readonly issuer: string;
  /** The token's `exp`, seconds since the epoch. */
  readonly expiresAt: number;
}

/** What the discovery document must say (OpenID Connect Discovery 1.0 §3). */
interface ProviderMetadata {
  readonly issuer: string;
  readonly jwks_uri: string;
}

const ALLOWED_ALGORITHMS = ["RS256", "ES256", "EdDSA"];

/**
 * An enterprise IdP whose users may be principals here. Its discovery document and JWKS are
 * fetched over https from vetted URLs (`checkMetadataUrl`: no http, loopback or private
 * addresses, no redirects), the keys cached for `cacheSeconds` and fetched again, at most every
 * `minRefreshSeconds`, when a token names an unknown key (the IdP rotated). Tokens are verified
 * with jose: signature (RS256, ES256 or EdDSA, the key's own algorithm), `iss`, `aud`, `exp`,
 * `nbf`, `iat`. Keys without `alg` or `kid` are refused (JwksKeySet's rule).
 *
 * What is not instant: a user disabled at the IdP keeps valid tokens until they expire; the
 * exchange then issues tokens that never outlive the user's token.
 */
export class ExternalIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly #claims: Required<ClaimMapping>;
  readonly #jwksUri: URL;
  readonly #options: ExternalIssuerOptions;
  readonly #clock: Clock;
  #keys: JwksKeySet;
  #fetchedAt: number;

  private constructor(
    config: ExternalIssuerConfig,
    jwksUri: URL,
    keys: JwksKeySet,
    options: ExternalIssuerOptions,
  ) {
    this.issuer = config.issuer;
    this.audience = config.audience;
    this.#claims = {
      sub: config.claims?.sub ?? "sub",
      email: config.claims?.email ?? "email",
      groups: config.claims?.groups ?? "groups",
    };
    this.#jwksUri = jwksUri;
    this.#keys = keys;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#fetchedAt = this.#clock.now();
  }

  /**
   * Fetches the IdP's `/.well-known/openid-configuration`, checks that its `issuer` is the
   * configured one, then fetches its JWKS. Rejects with `invalid_configuration` for a refused
   * URL or a mismatched issuer, and `key_store_invalid` for a failed fetch.
   */
  static async discover(
    config: ExternalIssuerConfig,
    options: ExternalIssuerOptions = {},
  ): Promise<ExternalIssuer> {
    if (typeof config.audience !== "string" || config.audience.length === 0)
      throw new AgentGateError("invalid_configuration", "A trusted issuer needs an audience.");
    const base = checkMetadataUrl(config.issuer, options);
    const discovery = checkMetadataUrl(
      `${base.href.replace(/\/$/, "")}/.well-known/openid-configuration`,
      options,
    );
    const metadata = await fetchJson(discovery, options);
    if (metadata.issuer !== config.issuer || typeof metadata.jwks_uri !== "string") {
      throw new AgentGateError(
        "invalid_configuration",
        `The discovery document of ${config.issuer} names another issuer or no jwks_uri.`,
      );
    }
    const jwksUri = checkMetadataUrl((metadata as unknown as ProviderMetadata).jwks_uri, options);
    const keys = await JwksKeySet.fromUrl(jwksUri, options);
    return new ExternalIssuer(config, jwksUri, keys, options);
  }

  /** Verifies a token of this IdP (an ID token or a JWT access token) and maps its user. */
  async verify(token: string): Promise<ExternalUser> {
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw invalid("not a JWT");
    }
    if (typeof kid !== "string") throw invalid("no kid");
    let key = this.#keys.getVerificationKey(kid);
    const now = this.#clock.now();
    const stale = now - this.#fetchedAt > (this.#options.cacheSeconds ?? 600) * 1000;
    const mayRefresh = now - this.#fetchedAt > (this.#options.minRefreshSeconds ?? 30) * 1000;
    if (stale || (key === undefined && mayRefresh)) {
      this.#keys = await JwksKeySet.fromUrl(this.#jwksUri, this.#options);
      this.#fetchedAt = now;
      key = this.#keys.getVerificationKey(kid);
    }
    if (key === undefined) throw invalid(`unknown key id ${JSON.stringify(kid).slice(0, 80)}`);
    if (!ALLOWED_ALGORITHMS.includes(key.alg)) throw invalid("algorithm not allowed");
    let claims: Record<string, unknown>;
    try {
      const { payload } = await compactVerify(token, key.key, { algorithms: [key.alg] });
      claims = parseStrictJson(new TextDecoder().decode(payload), { maxDepth: 8 }) as Record<
        string,
        unknown
      >;
    } catch {
      throw invalid("bad signature or claims");
    }
    const seconds = epochSeconds(this.#clock);
    const skew = this.#options.clockSkewSeconds ?? 60;
    if (claims.iss !== this.issuer) throw invalid("iss");
    const aud = claims.aud;
    if (!(aud === this.audience || (Array.isArray(aud) && aud.includes(this.audience))))
      throw invalid("aud");
    if (typeof claims.exp !== "number" || claims.exp + skew <= seconds)
      throw new AgentGateError("token_expired", "The enterprise token has expired.");
    if (typeof claims.nbf === "number" && claims.nbf - skew > seconds) throw invalid("nbf");
    if (typeof claims.iat === "number" && claims.iat - skew > seconds) throw invalid("iat");
    const subject = claims[this.#claims.sub];
    if (typeof subject !== "string" || !/^[\x21-\x7e]{1,200}$/.test(subject)) throw invalid("sub");
    const emailClaim = claims[this.#claims.email];
    const email =
      typeof emailClaim === "string" && /^[^\s@]{1,64}@[\x21-\x7e]{1,180}$/.test(emailClaim)
        ? emailClaim
        : undefined;
    const groupsClaim = claims[this.#claims.groups] ?? [];
    if (!Array.isArray(groupsClaim) || groupsClaim.some((group) => typeof group !== "string"))
      throw invalid("groups must be an array of strings");
    return Object.freeze({
      id: `user:${email ?? subject}`,
      subject,
      email,
      groups: Object.freeze([...(groupsClaim as string[])]),
      issuer: this.issuer,
      expiresAt: claims.exp,
    });
  }
}

function invalid(reason: string): AgentGateError {
  return new AgentGateError("token_invalid", `Invalid enterprise token: ${reason}.`);
}

async function fetchJson(
  url: URL,
  options: ExternalIssuerOptions,
): Promise<Record<string, unknown>> {
  try {
    const response = await (options.fetch ?? fetch)(url, {
      redirect: "error",
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(5000),
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    if (text.length > 65_536) throw new Error("too large");
    const value = parseStrictJson(text, { maxDepth: 6 });
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new Error("not an object");
    return value as Record<string, unknown>;
  } catch (error) {
    throw new AgentGateError(
      "key_store_invalid",
      `The discovery document at ${url.href} could not be read.`,
      {
        cause: error,
      },
    );
  }
}
