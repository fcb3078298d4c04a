import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { JSONWebKeySet } from "jose";
import { AUDIT_SCHEMA_VERSION } from "../audit/audit-event.js";
import type { AuditSink } from "../audit/audit-sink.js";
import { systemClock } from "../clock.js";
import { AgentGateError } from "../errors.js";
import type { ApprovalProvider } from "../gate/approval.js";
import { Gate, type GateOptions } from "../gate/gate.js";
import type { AgentRegistry } from "../identity/agent-registry.js";
import { Authority } from "../identity/authority.js";
import type { ExternalIssuerConfig } from "../identity/external-issuer.js";
import { JwtSvidBundle, type JwtSvidBundleSource } from "../identity/jwt-svid.js";
import type { RevocationList } from "../identity/revocation-list.js";
import type { SigningAlgorithm } from "../identity/signing-key.js";
import { randomId } from "../internal/random-id.js";
import type { PolicyClient } from "../policy/policy-client.js";
import { bundleFileSource } from "./bundle-file.js";
import { type AuditDurability, FileAuditLog, type FileAuditLogOptions } from "./file-audit-log.js";
import { FileKeyStore } from "./file-key-store.js";
import { FileRevocationList } from "./file-revocation-list.js";
import { JsonFileAgentRegistry } from "./json-file-agent-registry.js";
import { HttpWitnessClient } from "./witness/witness-client.js";

/** What `@agentgate/cedar` reports on each policy load (its `PolicyLoad`). */
interface PolicyLoad {
  readonly version: number;
  readonly hash?: string;
  readonly files: readonly string[];
  readonly reload: boolean;
  readonly error?: string;
}

/** What `agentgate init` writes to `<directory>/config.json`. */
export interface GateConfig {
  /** The trust domain whose agents this gate serves, e.g. `acme.example`. */
  readonly trustDomain: string;
  /** The audience of this gate's tool calls. */
  readonly audience: string;
  /**
   * The token issuer (`iss`). Default `spiffe://<trustDomain>`; `agentgate init --public-url
   * https://…` sets it to that URL, which clouds' workload identity federation requires.
   */
  readonly issuer?: string;
  /**
   * RFC 8693 token exchange at `agentgate serve`'s `POST /token` (SECURITY.md L89). A subject
   * token must be addressed to the issuer, or to one of `subjectAudiences`; the actor must be
   * named by the subject token's `may_act`, or, without it, allowed here: `mayAct` maps an actor
   * (agent id) to the principals it may act for.
   */
  readonly exchange?: {
    readonly subjectAudiences?: readonly string[];
    readonly mayAct?: Readonly<Record<string, readonly string[]>>;
  };
  /**
   * Enterprise IdPs (Okta, Entra ID, any OpenID Provider) whose users' tokens `POST /token`
   * accepts as `subject_token`: issuer URL, expected audience, claim mapping.
   */
  readonly trustedIssuers?: readonly ExternalIssuerConfig[];
  /**
   * SPIFFE trust bundles whose JWT-SVIDs the gate accepts as agent credentials
   * (`GateOptions.spiffeBundles`): per trust domain, the JWKS of SPIRE's JWT authorities, inline
   * (`jwks`) or in a file (`jwksPath`, relative to the directory), such as the output of
   * `spire-server bundle show -format spiffe`. The `createGate` option of the same name wins.
   */
  readonly spiffeBundles?: readonly SpiffeBundleConfig[];
  /** Where `agentgate serve` is reached (`agentgate init --public-url`). */
  readonly publicUrl?: string;
  /** Algorithm of newly generated signing keys (`agentgate init --algorithm`). Default `EdDSA`. */
  readonly algorithm?: SigningAlgorithm;
  /** IANA time zone of the policy context's local time. Default `UTC`. */
  readonly timeZone?: string;
  /** Deployment environment in the policy context. Default `development`. */
  readonly environment?: string;
  /** The audit log's anchoring (see {@link AuditConfig}). */
  readonly audit?: AuditConfig;
  /**
   * Refuse bearer-only tokens (`GateOptions.requireProofOfPossession`, SECURITY.md M107): every
   * call must come with a DPoP or call proof, a certificate-bound token over mTLS, or a client
   * certificate. Default `false`; the `createGate` option of the same name wins.
   */
  readonly requireProofOfPossession?: boolean;
  /**
   * A PostgreSQL connection string (`postgres://…`): the registry, revocations, audit trail and
   * approvals live there instead of in the directory's files (`@agentgate/postgres` must be
   * installed; `agentgate db migrate` creates the tables). Default: the files.
   */
  readonly database?: string;
  /** The PostgreSQL schema of AgentGate's tables, with `database`. Default `agentgate`. */
  readonly databaseSchema?: string;
}

/** One entry of `spiffeBundles` in `config.json`: a trust domain and its bundle, inline or in a file. */
export interface SpiffeBundleConfig {
  /** The SPIFFE trust domain, e.g. `spire.acme.example`. */
  readonly trustDomain: string;
  /** The bundle's JWKS (keys with `use: "jwt-svid"` count). Exactly one of `jwks`, `jwksPath`. */
  readonly jwks?: { readonly keys: readonly Record<string, unknown>[] };
  /**
   * A file holding that JWKS, relative to the gate's directory. The file is followed: when it
   * changes (SPIRE rotated its keys, and the file was written again), the next SVID is checked
   * against its new keys; a file that does not parse or import leaves the keys in force.
   */
  readonly jwksPath?: string;
  /** With `jwksPath`: look at the file at most this often, in seconds. Default 5; 0: every SVID. */
  readonly refreshSeconds?: number;
}

/**
 * Told, by {@link loadSpiffeBundles}, that a followed bundle file changed and its keys replaced
 * the ones in force: the trust domain, the file and the key ids now trusted.
 */
export type BundleChange = (change: {
  readonly trustDomain: string;
  readonly jwksPath: string;
  readonly keyIds: readonly string[];
}) => void;

/** How often a `jwksPath` bundle file is looked at by default, in seconds. */
const DEFAULT_BUNDLE_REFRESH_SECONDS = 5;

/** `audit` in `config.json`: the witness that cosigns the log, and how often it is asked. */
export interface AuditConfig {
  /** The witness's URL and verifier key (`agentgate witness` prints both). */
  readonly witness?: { readonly url: string; readonly key: string };
  /** A checkpoint after this many records (default 1,000). */
  readonly checkpointEvery?: number;
  /** And at least this often while records arrive (default 1,000 ms). */
  readonly checkpointIntervalMs?: number;
}

/** The {@link FileAuditLog} options that `config.json`'s `audit` section asks for. */
export function auditLogOptions(config: GateConfig | undefined): Partial<FileAuditLogOptions> {
  const audit = config?.audit;
  if (audit === undefined) return {};
  return {
    ...(audit.witness === undefined
      ? {}
      : { witness: new HttpWitnessClient(audit.witness.url), witnessKey: audit.witness.key }),
    ...(audit.checkpointEvery === undefined ? {} : { checkpointEvery: audit.checkpointEvery }),
    ...(audit.checkpointIntervalMs === undefined
      ? {}
      : { checkpointIntervalMs: audit.checkpointIntervalMs }),
  };
}

/** Options of {@link createGate}: a directory, and any port or setting to replace. */
export interface CreateGateOptions extends Partial<Omit<GateOptions, "verifier">> {
  /** Where everything lives. Default `.agentgate`. */
  readonly directory?: string;
  /** The trust domain. Default: the one in `<directory>/config.json`. */
  readonly trustDomain?: string;
  /** Durability of the default file audit log. Default `process`. */
  readonly durability?: AuditDurability;
  /** Reload policies when their files change. Default `true`. */
  readonly watchPolicies?: boolean;
  /**
   * Keep the registry, revocations, audit trail and approvals in PostgreSQL
   * (`postgres://user@host/db`) rather than in the directory's files: every gate and server on
   * the database shares them. Loads `@agentgate/postgres`, which must be installed. Default:
   * `config.json`'s `database`, else the files.
   */
  readonly database?: string;
  /** The PostgreSQL schema of AgentGate's tables, with `database`. Default `agentgate`. */
  readonly databaseSchema?: string;
}

/** The part of `@agentgate/postgres` that createGate uses (the core does not depend on it). */
interface PostgresStoresLike {
  readonly registry: AgentRegistry;
  readonly revocations: RevocationList;
  readonly audit: AuditSink;
  readonly approvals: ApprovalProvider;
  close(): Promise<void>;
}

/**
 * A working gate from one directory (default `.agentgate/`): keys (`keys/`), the agent registry
 * (`agents.json`), the revocation list (`revocations.jsonl`), the Cedar policies (`policies/`,
 * through `@agentgate/cedar`, which must be installed unless `policy` is given) and the audit log
 * (`audit/`). Settings come from `config.json` (`agentgate init` writes it) and the options,
 * which win. Every part can be replaced by passing it.
 *
 * Rejects at start-up, never at the first call, when anything is missing or corrupt:
 * `invalid_configuration`, `key_store_invalid`, `policy_invalid`, `audit_unavailable`.
 *
 * @example
 * ```ts
 * const gate = await createGate();                       // after `agentgate init`
 * const issued = await gate.authority?.issueToken(agentId, { audience: "https://tools.acme.example" });
 * ```
 */
export async function createGate(options: CreateGateOptions = {}): Promise<Gate> {
  const directory = options.directory ?? ".agentgate";
  const config = readConfig(directory);
  const trustDomain = options.trustDomain ?? config?.trustDomain;
  const audience = options.audience ?? config?.audience;
  if (trustDomain === undefined || audience === undefined) {
    throw new AgentGateError(
      "invalid_configuration",
      `No trust domain or audience: run \`agentgate init\` in ${directory}, or pass trustDomain and audience.`,
    );
  }
  const requireProofOfPossession =
    options.requireProofOfPossession ?? config?.requireProofOfPossession;
  if (requireProofOfPossession !== undefined && typeof requireProofOfPossession !== "boolean") {
    throw new AgentGateError(
      "invalid_configuration",
      `${join(directory, "config.json")}: requireProofOfPossession must be true or false.`,
    );
  }
  // A followed bundle that SPIRE rotated is a change of what the gate trusts: recorded (K83)
  // in the gate's log, which opens below.
  let onBundleChange: BundleChange = () => {};
  const spiffeBundles =
    options.spiffeBundles ??
    (await loadSpiffeBundles(config, directory, (change) => onBundleChange(change)));
  const database = options.database ?? config?.database;
  const stores =
    database === undefined
      ? undefined
      : await postgresFrom(database, options.databaseSchema ?? config?.databaseSchema, config);
  let audit: AuditSink;
  try {
    audit =
      options.audit === undefined || stores === undefined
        ? (options.audit ??
          (stores === undefined
            ? await FileAuditLog.open({
                ...auditLogOptions(config),
                directory: join(directory, "audit"),
                durability: options.durability ?? "process",
              })
            : closingStores(stores)))
        : alsoClosing(options.audit, stores);
  } catch (error) {
    await stores?.close();
    throw error;
  }
  const registry =
    options.registry ??
    stores?.registry ??
    new JsonFileAgentRegistry(join(directory, "agents.json"));
  let authority: Authority;
  let policy: PolicyClient;
  try {
    authority =
      options.authority ??
      (await Authority.create({
        trustDomain,
        registry,
        revocations:
          stores?.revocations ?? new FileRevocationList(join(directory, "revocations.jsonl")),
        keyStore: new FileKeyStore(join(directory, "keys")),
        // Key rotations and revocations made through this authority land in the gate's log.
        audit,
        ...(config?.issuer === undefined ? {} : { issuer: config.issuer }),
        ...(config?.algorithm === undefined ? {} : { algorithm: config.algorithm }),
      }));
    const written = audit;
    onBundleChange = (change) => {
      written
        .write({
          v: AUDIT_SCHEMA_VERSION,
          id: randomId(),
          type: "config_change",
          time: new Date((options.clock ?? systemClock).now()).toISOString(),
          actor: { type: "service", id: "gate" },
          details: { change: "spiffe_bundle", ...change, keyIds: [...change.keyIds] },
        })
        .catch((error: unknown) =>
          console.error(
            `AgentGate: the config_change event of ${change.trustDomain}'s bundle could not be written: ${String(error)}`,
          ),
        );
    };
    // Each load and reload of the directory's policies is recorded with its hash (K83); the
    // gate does not start unless the first one is in the log.
    const loads: Promise<void>[] = [];
    const record = (load: PolicyLoad) => {
      const written = audit.write({
        v: AUDIT_SCHEMA_VERSION,
        id: randomId(),
        type: "policy_loaded",
        time: new Date((options.clock ?? systemClock).now()).toISOString(),
        actor: { type: "service", id: "gate" },
        details: { ...load, files: [...load.files] },
      });
      if (loads.length === 0) loads.push(written);
      else
        written.catch((error: unknown) =>
          console.error(
            `AgentGate: the policy_loaded event could not be written: ${String(error)}`,
          ),
        );
    };
    policy =
      options.policy ??
      (await cedarFrom(join(directory, "policies"), options.watchPolicies ?? true, record));
    await Promise.all(loads);
  } catch (error) {
    // Do not keep the log's writer lock (or the database's connections) for a gate that never started.
    if (options.audit === undefined) await audit.close();
    else await stores?.close();
    throw error;
  }
  const timeZone = options.timeZone ?? config?.timeZone;
  const environment = options.environment ?? config?.environment;
  return new Gate({
    ...options,
    audience,
    verifier: authority.verifier(),
    registry,
    policy,
    audit,
    authority,
    ...(options.approvals === undefined && stores !== undefined
      ? { approvals: stores.approvals }
      : {}),
    ...(timeZone === undefined ? {} : { timeZone }),
    ...(environment === undefined ? {} : { environment }),
    ...(requireProofOfPossession === undefined ? {} : { requireProofOfPossession }),
    ...(spiffeBundles === undefined ? {} : { spiffeBundles }),
  });
}

/**
 * `config.json`'s `spiffeBundles` (of the AgentGate directory `directory`), imported: the bundles
 * `createGate` gives its gate, and `agentgate token verify` checks a JWT-SVID against, so both
 * accept and refuse the same SVIDs. `undefined` when `config` names none. Any fault (SECURITY.md
 * P135) is `invalid_configuration` naming the file and the entry (`spiffeBundles[1].trustDomain`).
 *
 * @example
 * ```ts
 * const bundles = await loadSpiffeBundles(config, ".agentgate");
 * await verifyAgentToken(svid, { verifier, registry, audience, spiffeBundles: bundles });
 * ```
 */
export async function loadSpiffeBundles(
  config: Pick<GateConfig, "spiffeBundles"> | undefined,
  directory: string,
  onChange?: BundleChange,
): Promise<JwtSvidBundle[] | undefined> {
  const entries: unknown = config?.spiffeBundles;
  if (entries === undefined) return undefined;
  const file = join(directory, "config.json");
  const invalid = (key: string, reason: string, cause?: unknown) =>
    new AgentGateError("invalid_configuration", `${file}: ${key} ${reason}.`, {
      ...(cause === undefined ? {} : { cause }),
    });
  if (!Array.isArray(entries)) throw invalid("spiffeBundles", "must be a list");
  const bundles: JwtSvidBundle[] = [];
  for (const [index, entry] of entries.entries()) {
    const key = `spiffeBundles[${index}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry))
      throw invalid(key, "must be an object");
    const { trustDomain, jwks, jwksPath, refreshSeconds, ...rest } = entry as Record<
      string,
      unknown
    >;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw invalid(key, `has an unknown key: ${extra.join(", ")}`);
    if (typeof trustDomain !== "string") throw invalid(`${key}.trustDomain`, "must be a string");
    if (bundles.some((bundle) => bundle.trustDomain === trustDomain))
      throw invalid(`${key}.trustDomain`, `names ${trustDomain} twice`);
    if ((jwks === undefined) === (jwksPath === undefined))
      throw invalid(key, "needs exactly one of jwks and jwksPath");
    if (refreshSeconds !== undefined) {
      if (jwksPath === undefined) throw invalid(`${key}.refreshSeconds`, "needs jwksPath");
      if (
        typeof refreshSeconds !== "number" ||
        !Number.isFinite(refreshSeconds) ||
        refreshSeconds < 0
      )
        throw invalid(`${key}.refreshSeconds`, "must be a number of seconds, 0 or more");
    }
    let set: unknown = jwks;
    let source: JwtSvidBundleSource | undefined;
    if (jwksPath !== undefined) {
      if (typeof jwksPath !== "string" || jwksPath.length === 0)
        throw invalid(`${key}.jwksPath`, "must be a file name");
      const path = isAbsolute(jwksPath) ? jwksPath : join(directory, jwksPath);
      // The file is followed: SPIRE's key rotation reaches the gate without a restart.
      source = bundleFileSource(path, {
        checkEveryMs: (refreshSeconds ?? DEFAULT_BUNDLE_REFRESH_SECONDS) * 1000,
        onError: (error) =>
          console.error(
            `AgentGate: ${key} (${trustDomain}) keeps its keys: ${error instanceof Error ? error.message : String(error)}`,
          ),
        ...(onChange === undefined
          ? {}
          : { onChange: (keyIds) => onChange({ trustDomain, jwksPath: path, keyIds }) }),
      });
      try {
        set = JSON.parse(await readFile(path, "utf8"));
      } catch (error) {
        throw invalid(`${key}.jwksPath`, `(${path}) is not a readable JSON file`, error);
      }
    }
    if (typeof set !== "object" || set === null || !Array.isArray((set as { keys?: unknown }).keys))
      throw invalid(key, "is not a JWKS (no keys list)");
    try {
      bundles.push(
        source === undefined
          ? await JwtSvidBundle.fromJwks(trustDomain, set as JSONWebKeySet)
          : await JwtSvidBundle.following(trustDomain, set as JSONWebKeySet, source),
      );
    } catch (error) {
      throw invalid(
        key,
        `is not a usable bundle: ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }
  }
  return bundles;
}

/** The stores' audit sink, whose close also ends the stores' connections (the gate closes it). */
function closingStores(stores: PostgresStoresLike): AuditSink {
  return {
    write: (event) => stores.audit.write(event),
    flush: () => stores.audit.flush(),
    close: () => stores.close(),
  };
}

/** The caller's own audit sink, whose close (by the gate) also ends the stores' connections. */
function alsoClosing(audit: AuditSink, stores: PostgresStoresLike): AuditSink {
  return {
    write: (event) => audit.write(event),
    flush: () => audit.flush(),
    close: async () => {
      try {
        await audit.close();
      } finally {
        await stores.close();
      }
    },
  };
}

/**
 * Loads `@agentgate/postgres` from the application (like `@agentgate/cedar`: the core does not
 * depend on it) and opens its stores on `url`.
 */
async function postgresFrom(
  url: string,
  schema: string | undefined,
  config: GateConfig | undefined,
): Promise<PostgresStoresLike> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new AgentGateError(
      "invalid_configuration",
      "database must be a PostgreSQL connection string (postgres://user@host:5432/db).",
    );
  }
  let postgres: {
    openPostgresStores(options: {
      url: string;
      schema?: string;
      audit?: Record<string, unknown>;
    }): Promise<PostgresStoresLike>;
  };
  try {
    let resolved: string;
    try {
      resolved = createRequire(join(process.cwd(), "package.json")).resolve("@agentgate/postgres");
    } catch {
      resolved = createRequire(import.meta.url).resolve("@agentgate/postgres");
    }
    postgres = (await import(pathToFileURL(resolved).href)) as typeof postgres;
  } catch {
    throw new AgentGateError(
      "invalid_configuration",
      "createGate({ database }) needs @agentgate/postgres: install it (npm install @agentgate/postgres), or leave database unset to use the files.",
    );
  }
  const audit = config?.audit;
  return postgres.openPostgresStores({
    url,
    ...(schema === undefined ? {} : { schema }),
    audit: {
      ...(audit?.witness === undefined
        ? {}
        : { witness: new HttpWitnessClient(audit.witness.url), witnessKey: audit.witness.key }),
      ...(audit?.checkpointEvery === undefined ? {} : { checkpointEvery: audit.checkpointEvery }),
      ...(audit?.checkpointIntervalMs === undefined
        ? {}
        : { checkpointIntervalMs: audit.checkpointIntervalMs }),
    },
  });
}

function readConfig(directory: string): GateConfig | undefined {
  let text: string;
  try {
    text = readFileSync(join(directory, "config.json"), "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as GateConfig;
  } catch {
    throw new AgentGateError(
      "invalid_configuration",
      `${join(directory, "config.json")} is not valid JSON.`,
    );
  }
}

/**
 * Loads `@agentgate/cedar` from the application (resolved from the working directory, since
 * the core does not depend on it) and the policies of `directory`.
 */
async function cedarFrom(
  directory: string,
  watch: boolean,
  onLoad: (load: PolicyLoad) => void,
): Promise<PolicyClient> {
  let cedar: {
    CedarPolicyClient: {
      fromDirectory(
        directory: string,
        options: { watch: boolean; onLoad: (load: PolicyLoad) => void },
      ): PolicyClient;
    };
  };
  try {
    const resolved = createRequire(join(process.cwd(), "package.json")).resolve("@agentgate/cedar");
    cedar = (await import(pathToFileURL(resolved).href)) as typeof cedar;
  } catch {
    throw new AgentGateError(
      "invalid_configuration",
      "createGate needs a policy: install @agentgate/cedar (the embedded engine) or pass `policy`.",
    );
  }
  return cedar.CedarPolicyClient.fromDirectory(directory, { watch, onLoad });
}
