import { type Clock, systemClock } from "../../clock.js";
import type { IssuedSvid } from "./certificate-authority.js";
import { generateSvidKeyPair, privateKeyToPem } from "./certificate-authority.js";
import type { CryptoKey } from "./x509-runtime.js";

/** What an agent presents over mTLS: its chain and key, PEM, for `node:tls` `cert` and `key`. */
export interface SvidMaterial {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly serial: string;
  readonly notAfter: Date;
}

/** Options of {@link SvidProvider}. */
export interface SvidProviderOptions {
  /**
   * Asks the authority for an SVID over `publicKey` (in process: `ca.issue(agent, { publicKey })`;
   * remotely, a request to whatever issues them). Only the public key leaves the agent.
   */
  readonly issue: (publicKey: CryptoKey) => Promise<IssuedSvid>;
  /** Renew once this fraction of the lifetime has passed (default 2/3, as SPIRE agents do). */
  readonly renewAfterFraction?: number;
  readonly clock?: Clock;
}

/**
 * The agent side of X.509-SVIDs, as `CredentialProvider` is for tokens: it makes a fresh key pair
 * in this process for each SVID, asks for the certificate, and renews before expiry (after 2/3 of
 * the lifetime by default), so the agent never presents an expired certificate. Concurrent
 * callers share one renewal.
 *
 * @example
 * ```ts
 * const svids = new SvidProvider({ issue: (publicKey) => ca.issue(agentId, { publicKey }) });
 * const { certificatePem, privateKeyPem } = await svids.current();
 * ```
 */
export class SvidProvider {
  readonly #options: SvidProviderOptions;
  readonly #clock: Clock;
  #current: { material: SvidMaterial; renewAt: number } | undefined;
  #pending: Promise<SvidMaterial> | undefined;

  constructor(options: SvidProviderOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** An SVID that is not yet due for renewal; renewed (new key, new certificate) when it is. */
  async current(): Promise<SvidMaterial> {
    const current = this.#current;
    if (current !== undefined && this.#clock.now() < current.renewAt) return current.material;
    this.#pending ??= this.#renew().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #renew(): Promise<SvidMaterial> {
    const { publicKey, privateKey } = await generateSvidKeyPair();
    const svid = await this.#options.issue(publicKey);
    const material: SvidMaterial = {
      certificatePem: svid.chainPem,
      privateKeyPem: await privateKeyToPem(privateKey),
      serial: svid.serial,
      notAfter: svid.notAfter,
    };
    const start = svid.notBefore.getTime();
    const fraction = this.#options.renewAfterFraction ?? 2 / 3;
    this.#current = {
      material,
      renewAt: start + (svid.notAfter.getTime() - start) * fraction,
    };
    return material;
  }
}
