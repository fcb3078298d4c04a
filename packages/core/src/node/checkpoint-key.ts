import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { AgentGateError } from "../errors.js";
import { writeFileAtomic } from "./atomic-file.js";

/** A signed statement that the log held `seq` records ending in `hash` at `time`. */
export interface AuditCheckpoint {
  /** The log's id (from its `log.json`), so a checkpoint of another log never matches. */
  readonly log: string;
  readonly seq: number;
  readonly hash: string;
  /** ISO 8601. */
  readonly time: string;
  /** Id of the checkpoint key (RFC 7638-style thumbprint is not needed; a fingerprint suffices). */
  readonly kid: string;
  /** Ed25519 signature, base64url, over `log`, `seq`, `hash`, `time` joined by newlines. */
  readonly sig: string;
}

/**
 * The Ed25519 key that signs audit checkpoints. It is deliberately not the token-signing key
 * (SECURITY.md I62): whoever can mint agent tokens should not also be able to re-sign the
 * history of what agents did. Kept in its own 0600 file, created on first use.
 */
export class CheckpointKey {
  readonly #privateKey: KeyObject | undefined;

  private constructor(
    readonly kid: string,
    readonly publicKey: KeyObject,
    privateKey: KeyObject | undefined,
  ) {
    this.#privateKey = privateKey;
  }

  /** Loads the key at `path`, creating it (0600) when missing. */
  static loadOrCreate(path: string): CheckpointKey {
    try {
      const stored = JSON.parse(readFileSync(path, "utf8")) as { kid: string; privateJwk: object };
      const privateKey = createPrivateKey({ key: stored.privateJwk as never, format: "jwk" });
      return new CheckpointKey(stored.kid, createPublicKey(privateKey), privateKey);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new AgentGateError("audit_unavailable", `The checkpoint key ${path} cannot be read.`);
      }
    }
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const publicJwk = publicKey.export({ format: "jwk" });
    const kid = String(publicJwk.x).slice(0, 16);
    writeFileAtomic(
      path,
      `${JSON.stringify({ kid, publicJwk, privateJwk: privateKey.export({ format: "jwk" }) }, null, 2)}\n`,
      0o600,
    );
    return new CheckpointKey(kid, publicKey, privateKey);
  }

  /** The public part only, from a key file or a public JWK, for verifiers. */
  static publicFrom(pathOrJwk: string | { x: string }): CheckpointKey {
    const jwk =
      typeof pathOrJwk === "string"
        ? (JSON.parse(readFileSync(pathOrJwk, "utf8")) as { publicJwk: { x: string } }).publicJwk
        : pathOrJwk;
    const publicKey = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: jwk.x },
      format: "jwk",
    });
    return new CheckpointKey(jwk.x.slice(0, 16), publicKey, undefined);
  }

  /** Signs a checkpoint. */
  sign(checkpoint: Omit<AuditCheckpoint, "kid" | "sig">): AuditCheckpoint {
    if (this.#privateKey === undefined)
      throw new AgentGateError("audit_unavailable", "A public checkpoint key cannot sign.");
    const sig = sign(null, Buffer.from(statement(checkpoint)), this.#privateKey).toString(
      "base64url",
    );
    return { ...checkpoint, kid: this.kid, sig };
  }

  /** True when `checkpoint` carries this key's valid signature. */
  verify(checkpoint: AuditCheckpoint): boolean {
    try {
      return verify(
        null,
        Buffer.from(statement(checkpoint)),
        this.publicKey,
        Buffer.from(checkpoint.sig, "base64url"),
      );
    } catch {
      return false;
    }
  }

  toJSON(): { kid: string } {
    return { kid: this.kid };
  }
}

function statement(checkpoint: Omit<AuditCheckpoint, "kid" | "sig">): string {
  return `agentgate-audit-checkpoint\n${checkpoint.log}\n${checkpoint.seq}\n${checkpoint.hash}\n${checkpoint.time}`;
}
