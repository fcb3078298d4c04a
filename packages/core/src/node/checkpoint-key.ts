import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { AgentGateError } from "../errors.js";
import { formatNote, rawPublicKey, signNoteBody } from "./signed-note.js";
import { formatCheckpoint, type TreeHead } from "./tlog-checkpoint.js";

/** The environment variable holding a checkpoint private key (base64url Ed25519 seed). */
export const CHECKPOINT_KEY_ENV = "AGENTGATE_CHECKPOINT_KEY";
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** The environment variable naming the checkpoint key file. */
export const CHECKPOINT_KEY_FILE_ENV = "AGENTGATE_CHECKPOINT_KEY_FILE";

/**
 * Where the checkpoint key lives by default: `$AGENTGATE_CHECKPOINT_KEY_FILE`, else
 * `$XDG_CONFIG_HOME/agentgate/audit-checkpoint-key.json` (`~/.config/…`): in the user's
 * configuration, never in the `.agentgate/` directory beside the log (SECURITY.md K78).
 */
export function defaultCheckpointKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const file = env[CHECKPOINT_KEY_FILE_ENV];
  if (file !== undefined && file !== "") return file;
  const config = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "agentgate", "audit-checkpoint-key.json");
}

/**
 * The Ed25519 key that signs a writer's audit checkpoints. It is not the token-signing key
 * (SECURITY.md I62), and it never lives inside the log directory (K78): it comes from the
 * environment (`AGENTGATE_CHECKPOINT_KEY`) or from a 0600 file outside it, created on first use
 * by exactly one process even when many start at once.
 *
 * Whoever can read this key can sign checkpoints of any history: only a witness's cosignature
 * (a key the writer never holds) makes a rewrite detectable to someone who does not trust the
 * writer's host.
 */
export class CheckpointKey {
  readonly #privateKey: KeyObject | undefined;
  /** The raw 32-byte public key. */
  readonly publicKey: Buffer;

  private constructor(publicKey: Buffer, privateKey: KeyObject | undefined) {
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
  }

  /**
   * The writer's key: from `AGENTGATE_CHECKPOINT_KEY`, else the file at `path` (default
   * {@link defaultCheckpointKeyPath}), created (0600) when missing. Rejects with
   * `invalid_configuration` when the file lies inside `logDirectory`.
   */
  static load(
    options: { path?: string; logDirectory?: string; env?: NodeJS.ProcessEnv } = {},
  ): CheckpointKey {
    const env = options.env ?? process.env;
    const secret = env[CHECKPOINT_KEY_ENV];
    if (options.path === undefined && secret !== undefined && secret !== "") {
      return CheckpointKey.#fromSeed(secret, CHECKPOINT_KEY_ENV);
    }
    const path = resolve(options.path ?? defaultCheckpointKeyPath(env));
    if (options.logDirectory !== undefined && isInside(path, resolve(options.logDirectory))) {
      throw new AgentGateError(
        "invalid_configuration",
        `The checkpoint key ${path} lies inside the log directory: anyone who can write the log could re-sign it. Keep it elsewhere or in ${CHECKPOINT_KEY_ENV}.`,
      );
    }
    return CheckpointKey.#readOrCreate(path);
  }

  /** The public part only: from a key file, a public JWK, or base64 of the raw key. */
  static publicFrom(source: string | { x: string }): CheckpointKey {
    let x: string;
    if (typeof source !== "string") x = source.x;
    else if (/^[A-Za-z0-9_+/=-]{43,44}$/.test(source.trim())) x = source.trim();
    else x = (JSON.parse(readFileSync(source, "utf8")) as { publicJwk: { x: string } }).publicJwk.x;
    const raw = Buffer.from(x.replace(/\+/g, "-").replace(/\//g, "_"), "base64url");
    if (raw.length !== 32) throw new TypeError("not an Ed25519 public key");
    return new CheckpointKey(raw, undefined);
  }

  static #fromSeed(seed: string, where: string): CheckpointKey {
    try {
      const raw = Buffer.from(seed.trim(), "base64url");
      if (raw.length !== 32) throw new TypeError("not 32 bytes");
      // PKCS#8 DER of an Ed25519 seed: Node derives the public key from it.
      const privateKey = createPrivateKey({
        key: Buffer.concat([PKCS8_ED25519_PREFIX, raw]),
        format: "der",
        type: "pkcs8",
      });
      return new CheckpointKey(rawPublicKey(createPublicKey(privateKey)), privateKey);
    } catch {
      throw new AgentGateError(
        "invalid_configuration",
        `${where} does not hold an Ed25519 checkpoint key (base64url seed).`,
      );
    }
  }

  static #readOrCreate(path: string): CheckpointKey {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const stored = JSON.parse(readFileSync(path, "utf8")) as { privateJwk: { d: string } };
        return CheckpointKey.#fromSeed(stored.privateJwk.d, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
          if (error instanceof AgentGateError) throw error;
          throw new AgentGateError(
            "audit_unavailable",
            `The checkpoint key ${path} cannot be read.`,
          );
        }
      }
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      const text = `${JSON.stringify(
        {
          publicJwk: publicKey.export({ format: "jwk" }),
          privateJwk: privateKey.export({ format: "jwk" }),
        },
        null,
        2,
      )}\n`;
      // Written whole under a temporary name, then linked into place: `link` fails when another
      // process created the key first, and then its key is the one every writer uses.
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
      const fd = openSync(temporary, "wx", 0o600);
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(temporary, path);
        return new CheckpointKey(rawPublicKey(publicKey), privateKey);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      } finally {
        unlinkSync(temporary);
      }
    }
    throw new AgentGateError("audit_unavailable", `The checkpoint key ${path} cannot be created.`);
  }

  /** True when this key can sign. */
  get canSign(): boolean {
    return this.#privateKey !== undefined;
  }

  /** The signed checkpoint note of `head`, under the log's origin as key name. */
  signCheckpoint(head: TreeHead): string {
    if (this.#privateKey === undefined)
      throw new AgentGateError("audit_unavailable", "A public checkpoint key cannot sign.");
    const body = formatCheckpoint(head);
    return formatNote({ body, signatures: [signNoteBody(body, head.origin, this.#privateKey)] });
  }

  /** The public key as base64url, as `--log-key` of `agentgate witness` takes it. */
  toString(): string {
    return this.publicKey.toString("base64url");
  }

  toJSON(): { publicKey: string } {
    return { publicKey: this.toString() };
  }
}

function isInside(path: string, directory: string): boolean {
  const rel = relative(directory, path);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith("/");
}
