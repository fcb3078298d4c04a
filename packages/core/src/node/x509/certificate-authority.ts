import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Clock, systemClock } from "../../clock.js";
import { AgentGateError } from "../../errors.js";
import { AgentId } from "../../identity/agent-id.js";
import { writeFileAtomic } from "../atomic-file.js";
import { TrustBundle } from "./trust-bundle.js";
import {
  type CryptoKey,
  type CryptoKeyPair,
  fingerprintOf,
  SVID_KEY_ALGORITHM,
  subtle,
  x509,
} from "./x509-runtime.js";

/** Bounds and defaults of SVID lifetimes, in seconds. */
export const SVID_LIFETIME = { default: 3600, min: 60, max: 86_400 } as const;

const CA_LIFETIME_SECONDS = 365 * 86_400;
const INTERMEDIATE_LIFETIME_SECONDS = 90 * 86_400;

/** Options of {@link CertificateAuthority.open}. */
export interface CertificateAuthorityOptions {
  /** The trust domain this authority certifies agents of (`acme.example`). */
  readonly trustDomain: string;
  /**
   * Where the CA keys and certificates live (for a project: `.agentgate/keys/x509`), private keys
   * with mode 0600 like the signing keys (H57). Omitted: in memory only, for tests.
   */
  readonly directory?: string;
  /** Sign SVIDs with an intermediate CA under the root, so the root key can stay offline. */
  readonly intermediate?: boolean;
  /** Default lifetime of an SVID, seconds (default 3600, bounded 60-86400). */
  readonly svidLifetimeSeconds?: number;
  readonly clock?: Clock;
}

/** An X.509-SVID the authority issued. */
export interface IssuedSvid {
  /** The agent the SVID names (its only URI SAN). */
  readonly agent: AgentId;
  /** Serial number, lower-case hex, recorded for the agent. */
  readonly serial: string;
  /** SHA-256 of the leaf's DER, lower-case hex. */
  readonly fingerprint: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The leaf alone, PEM. */
  readonly certificatePem: string;
  /** The leaf then any intermediate, PEM: what a TLS client presents. */
  readonly chainPem: string;
  /** PKCS #8 PEM of the key, only when the authority generated it (`issue` without `publicKey`). */
  readonly privateKeyPem?: string;
}

/** Per-call options of {@link CertificateAuthority.issue}. */
export interface IssueSvidOptions {
  /**
   * The agent's public key (ECDSA P-256). Give it so the private key never leaves the agent
   * process; omitted, a key pair is generated and returned once in `privateKeyPem`.
   */
  readonly publicKey?: CryptoKey;
  /** Lifetime in seconds, within the bounds of {@link SVID_LIFETIME}. */
  readonly lifetimeSeconds?: number;
}

interface Signer {
  readonly certificate: x509.X509Certificate;
  readonly key: CryptoKey;
}

/**
 * The authority of a trust domain as an X.509 CA: it issues X.509-SVIDs as the SPIFFE
 * X509-SVID specification defines them (§4, §5): exactly one URI SAN, the agent's SPIFFE id; a
 * leaf that is not a CA; `digitalSignature` and neither `keyCertSign` nor `cRLSign`; a short
 * lifetime; each serial recorded for its agent (`serials.jsonl`), so a verifier can tie the two.
 * Keys are ECDSA P-256, the algorithm every TLS stack accepts.
 *
 * @example
 * ```ts
 * const ca = await CertificateAuthority.open({ trustDomain: "acme.example", directory: ".agentgate/keys/x509" });
 * const svid = await ca.issue("spiffe://acme.example/agent/support", { publicKey });
 * ```
 */
export class CertificateAuthority {
  readonly trustDomain: string;
  readonly #root: Signer;
  readonly #issuing: Signer;
  readonly #clock: Clock;
  readonly #lifetime: number;
  readonly #directory: string | undefined;
  readonly #serials = new Map<string, string>();

  private constructor(
    options: CertificateAuthorityOptions,
    root: Signer,
    issuing: Signer,
    lifetime: number,
  ) {
    this.trustDomain = options.trustDomain;
    this.#root = root;
    this.#issuing = issuing;
    this.#clock = options.clock ?? systemClock;
    this.#lifetime = lifetime;
    this.#directory = options.directory;
  }

  /**
   * Loads the CA from `options.directory`, creating the root (and the intermediate when asked)
   * the first time; without a directory, a fresh in-memory CA.
   */
  static async open(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    AgentId.of(options.trustDomain, "probe");
    const lifetime = lifetimeOf(options.svidLifetimeSeconds, SVID_LIFETIME.default);
    const clock = options.clock ?? systemClock;
    const directory = options.directory;
    const root =
      (directory === undefined ? undefined : await loadSigner(directory, "root")) ??
      (await createCa(options.trustDomain, "root", undefined, clock, directory));
    let issuing = root;
    if (options.intermediate === true) {
      issuing =
        (directory === undefined ? undefined : await loadSigner(directory, "intermediate")) ??
        (await createCa(options.trustDomain, "intermediate", root, clock, directory));
    }
    const authority = new CertificateAuthority(options, root, issuing, lifetime);
    if (directory !== undefined) authority.#loadSerials(directory);
    return authority;
  }

  /** The trust bundle to publish: the root. */
  bundle(): TrustBundle {
    return TrustBundle.of(this.trustDomain, [this.#root.certificate.toString("pem")]);
  }

  /** The agent an issued serial (hex) was recorded for, or `undefined`. */
  agentOf(serial: string): string | undefined {
    return this.#serials.get(serial.toLowerCase());
  }

  /**
   * Issues an X.509-SVID for `agent`, an agent id of this trust domain in canonical form.
   * Throws `invalid_agent_id` for any other name and `invalid_configuration` for a lifetime
   * outside the bounds.
   */
  async issue(agent: string | AgentId, options: IssueSvidOptions = {}): Promise<IssuedSvid> {
    const id = typeof agent === "string" ? AgentId.parse(agent) : agent;
    if (id.trustDomain !== this.trustDomain) {
      throw new AgentGateError(
        "invalid_agent_id",
        `${id} is not an agent of trust domain ${this.trustDomain}.`,
      );
    }
    const lifetime = lifetimeOf(options.lifetimeSeconds, this.#lifetime);
    let publicKey = options.publicKey;
    let privateKeyPem: string | undefined;
    if (publicKey === undefined) {
      const pair = (await subtle.generateKey(SVID_KEY_ALGORITHM, true, [
        "sign",
        "verify",
      ])) as CryptoKeyPair;
      publicKey = pair.publicKey;
      privateKeyPem = x509.PemConverter.encode(
        await subtle.exportKey("pkcs8", pair.privateKey),
        "PRIVATE KEY",
      );
    }
    const now = Math.floor(this.#clock.now() / 1000) * 1000;
    const notBefore = new Date(now);
    const notAfter = new Date(now + lifetime * 1000);
    const serial = newSerial();
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      // SPIFFE X509-SVID §4: the identity is the URI SAN; the subject may be empty, and then
      // the SAN extension must be critical (RFC 5280 §4.2.1.6).
      subject: "",
      issuer: this.#issuing.certificate.subjectName,
      notBefore,
      notAfter,
      publicKey,
      signingKey: this.#issuing.key,
      signingAlgorithm: SVID_KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.clientAuth,
          x509.ExtendedKeyUsage.serverAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: id.toString() }], true),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.#issuing.certificate.publicKey),
      ],
    });
    this.#recordSerial(certificate.serialNumber, id.toString(), notAfter);
    const leafPem = certificate.toString("pem");
    const chainPem =
      this.#issuing === this.#root
        ? leafPem
        : `${leafPem}\n${this.#issuing.certificate.toString("pem")}`;
    return {
      agent: id,
      serial: certificate.serialNumber.toLowerCase(),
      fingerprint: await fingerprintOf(certificate),
      notBefore,
      notAfter,
      certificatePem: leafPem,
      chainPem,
      ...(privateKeyPem === undefined ? {} : { privateKeyPem }),
    };
  }

  #recordSerial(serial: string, agent: string, notAfter: Date): void {
    const key = serial.toLowerCase();
    this.#serials.set(key, agent);
    if (this.#directory === undefined) return;
    mkdirSync(this.#directory, { recursive: true, mode: 0o700 });
    appendFileSync(
      join(this.#directory, "serials.jsonl"),
      `${JSON.stringify({ serial: key, agent, notAfter: notAfter.toISOString() })}\n`,
      { mode: 0o600 },
    );
  }

  #loadSerials(directory: string): void {
    const path = join(directory, "serials.jsonl");
    if (!existsSync(path)) return;
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        const { serial, agent } = JSON.parse(line) as { serial?: unknown; agent?: unknown };
        if (typeof serial === "string" && typeof agent === "string")
          this.#serials.set(serial, agent);
      } catch {
        // A torn last line (a crash mid-append) names no serial; every complete line counts.
      }
    }
  }
}

/** A fresh ECDSA P-256 key pair for an agent's SVID; the private key stays in this process. */
export async function generateSvidKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(SVID_KEY_ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** The PKCS #8 PEM of a private key: what an agent writes to its `key.pem` (mode 0600). */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return `${x509.PemConverter.encode(await subtle.exportKey("pkcs8", key), "PRIVATE KEY")}\n`;
}

function lifetimeOf(value: number | undefined, fallback: number): number {
  const lifetime = value ?? fallback;
  if (!Number.isInteger(lifetime) || lifetime < SVID_LIFETIME.min || lifetime > SVID_LIFETIME.max) {
    throw new AgentGateError(
      "invalid_configuration",
      `An SVID lifetime must be ${SVID_LIFETIME.min}-${SVID_LIFETIME.max} seconds.`,
    );
  }
  return lifetime;
}

/** 16 random bytes, the first below 0x80 so the DER INTEGER stays positive and 16 bytes long. */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString("hex");
}

async function createCa(
  trustDomain: string,
  role: "root" | "intermediate",
  parent: Signer | undefined,
  clock: Clock,
  directory: string | undefined,
): Promise<Signer> {
  const keys = (await subtle.generateKey(SVID_KEY_ALGORITHM, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const now = Math.floor(clock.now() / 1000) * 1000;
  const lifetime = role === "root" ? CA_LIFETIME_SECONDS : INTERMEDIATE_LIFETIME_SECONDS;
  const name = `O=AgentGate, CN=${trustDomain} ${role} CA`;
  const extensions = [
    // SPIFFE X509-SVID §4.1: signing certificates set cA and keyCertSign; the SAN, when
    // present, is the trust domain itself.
    new x509.BasicConstraintsExtension(true, role === "root" ? 1 : 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomain}` }]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const common = {
    serialNumber: newSerial(),
    notBefore: new Date(now),
    notAfter: new Date(now + lifetime * 1000),
    signingAlgorithm: SVID_KEY_ALGORITHM,
  };
  const certificate =
    parent === undefined
      ? await x509.X509CertificateGenerator.createSelfSigned({
          ...common,
          name,
          keys,
          extensions,
        })
      : await x509.X509CertificateGenerator.create({
          ...common,
          subject: name,
          issuer: parent.certificate.subjectName,
          publicKey: keys.publicKey,
          signingKey: parent.key,
          extensions: [
            ...extensions,
            await x509.AuthorityKeyIdentifierExtension.create(parent.certificate.publicKey),
          ],
        });
  if (directory !== undefined) {
    const pkcs8 = await subtle.exportKey("pkcs8", keys.privateKey);
    // The key first: a certificate without its key would be a CA that cannot sign.
    writeFileAtomic(
      join(directory, `${role}-key.pem`),
      x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
      0o600,
    );
    writeFileAtomic(join(directory, `${role}.pem`), certificate.toString("pem"), 0o644);
  }
  return { certificate, key: keys.privateKey };
}

async function loadSigner(directory: string, role: string): Promise<Signer | undefined> {
  const certPath = join(directory, `${role}.pem`);
  const keyPath = join(directory, `${role}-key.pem`);
  if (!existsSync(certPath) || !existsSync(keyPath)) return undefined;
  // A CA key others can read is a CA anyone may have copied (H57): refuse to sign with it.
  if (process.platform !== "win32" && (statSync(keyPath).mode & 0o077) !== 0) {
    throw new AgentGateError(
      "key_store_invalid",
      `${keyPath} is readable by others; chmod 600 it.`,
    );
  }
  try {
    const certificate = new x509.X509Certificate(readFileSync(certPath, "utf8"));
    const key = await subtle.importKey(
      "pkcs8",
      x509.PemConverter.decodeFirst(readFileSync(keyPath, "utf8")),
      SVID_KEY_ALGORITHM,
      false,
      ["sign"],
    );
    return { certificate, key };
  } catch (error) {
    throw new AgentGateError("key_store_invalid", `The ${role} CA in ${directory} is unreadable.`, {
      cause: error,
    });
  }
}
