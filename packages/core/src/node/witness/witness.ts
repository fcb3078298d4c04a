import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Clock, systemClock } from "../../clock.js";
import { writeFileAtomic } from "../atomic-file.js";
import { verifyConsistency } from "../merkle-tree.js";
import {
  cosignNoteBody,
  ED25519_COSIGNATURE,
  formatNote,
  formatVerifierKey,
  hasNoteSignature,
  parseNote,
  rawPublicKey,
  signatureLine,
} from "../signed-note.js";
import { AUDIT_ORIGIN_PREFIX, parseCheckpoint } from "../tlog-checkpoint.js";
import type {
  AddCheckpointRequest,
  AddCheckpointResponse,
  WitnessClient,
} from "./witness-client.js";

/** Options of {@link Witness.open}. */
export interface WitnessOptions {
  /** The witness's own directory: its key and the latest checkpoint of each log. */
  readonly directory: string;
  /** The witness's name in its cosignatures. Default `agentgate.dev/witness`. */
  readonly name?: string;
  /**
   * Raw Ed25519 public keys (32 bytes) of the writers whose checkpoints it cosigns; a checkpoint
   * signed by no one of them is refused. Required: a witness that cosigned anyone's checkpoints
   * would let a stranger start a log in a writer's name.
   */
  readonly writerKeys: readonly Buffer[];
  readonly clock?: Clock;
}

interface State {
  /** origin → the latest cosigned note (the writer's signature and the witness's). */
  readonly logs: Record<string, string>;
}

/**
 * A witness (C2SP `tlog-witness`): it cosigns a log's checkpoint only when a consistency proof
 * shows that it extends the last checkpoint it cosigned for that log, and keeps that latest one
 * per log. Its key lives in its own directory, which the writers must not be able to read: the
 * evidence that a log was not rewritten is then signed by a party that cannot write the log
 * (SECURITY.md K78, K79). State is written and synced before a cosignature is returned.
 *
 * @example
 * ```ts
 * const witness = Witness.open({ directory: "/var/lib/agentgate-witness", writerKeys: [key.publicKey] });
 * const audit = await FileAuditLog.open({ witness, witnessKey: witness.verifierKey });
 * ```
 */
export class Witness implements WitnessClient {
  readonly name: string;
  readonly #directory: string;
  readonly #privateKey: KeyObject;
  readonly #writerKeys: readonly Buffer[];
  readonly #clock: Clock;
  #state: State;

  private constructor(options: WitnessOptions, privateKey: KeyObject, state: State) {
    this.name = options.name ?? "agentgate.dev/witness";
    this.#directory = options.directory;
    this.#privateKey = privateKey;
    this.#writerKeys = options.writerKeys;
    this.#clock = options.clock ?? systemClock;
    this.#state = state;
  }

  /** Opens (or creates) a witness directory: its key (0600) and its state. */
  static open(options: WitnessOptions): Witness {
    mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    const keyPath = join(options.directory, "witness-key.json");
    let privateKey: KeyObject;
    try {
      const stored = JSON.parse(readFileSync(keyPath, "utf8")) as { privateJwk: object };
      privateKey = createPrivateKey({ key: stored.privateJwk as never, format: "jwk" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      privateKey = generateKeyPairSync("ed25519").privateKey;
      writeFileAtomic(
        keyPath,
        `${JSON.stringify({ privateJwk: privateKey.export({ format: "jwk" }) })}\n`,
        0o600,
      );
    }
    let state: State = { logs: {} };
    try {
      state = JSON.parse(readFileSync(join(options.directory, "logs.json"), "utf8")) as State;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return new Witness(options, privateKey, state);
  }

  /** The witness's verifier key (`vkey`), what `audit verify --witness-key` takes. */
  get verifierKey(): string {
    return formatVerifierKey(this.name, ED25519_COSIGNATURE, this.#publicKey());
  }

  #publicKey(): Buffer {
    return rawPublicKey(createPublicKey(this.#privateKey));
  }

  async addCheckpoint(request: AddCheckpointRequest): Promise<AddCheckpointResponse> {
    return this.add(request);
  }

  /** {@link addCheckpoint}, synchronously: one request at a time, by construction. */
  add(request: AddCheckpointRequest): AddCheckpointResponse {
    let note: ReturnType<typeof parseNote>;
    let head: ReturnType<typeof parseCheckpoint>;
    try {
      note = parseNote(request.checkpoint);
      head = parseCheckpoint(note.body);
    } catch (error) {
      return { status: "rejected", reason: `malformed: ${(error as Error).message}` };
    }
    if (!head.origin.startsWith(AUDIT_ORIGIN_PREFIX))
      return { status: "rejected", reason: `unknown origin ${head.origin}` };
    if (!this.#writerKeys.some((key) => hasNoteSignature(note, head.origin, key)))
      return { status: "rejected", reason: "not signed by a writer key this witness trusts" };
    const latestText = this.#state.logs[head.origin];
    const latest =
      latestText === undefined ? undefined : parseCheckpoint(parseNote(latestText).body);
    const latestSize = latest?.size ?? 0;
    if (request.oldSize !== latestSize) return { status: "conflict", size: latestSize };
    if (head.size < latestSize)
      return { status: "rejected", reason: "the checkpoint is smaller than the old size" };
    if (
      latest !== undefined &&
      !verifyConsistency(latest.size, head.size, latest.root, head.root, request.proof)
    ) {
      return {
        status: "rejected",
        reason: "the consistency proof does not check (not append-only)",
      };
    }
    if (latest === undefined && request.proof.length > 0)
      return { status: "rejected", reason: "a first checkpoint takes no proof" };
    const cosignature = cosignNoteBody(
      note.body,
      this.name,
      this.#privateKey,
      Math.floor(this.#clock.now() / 1000),
    );
    const cosigned = formatNote({
      body: note.body,
      signatures: [
        ...note.signatures.filter((signature) => signature.name === head.origin),
        cosignature,
      ],
    });
    this.#state = { logs: { ...this.#state.logs, [head.origin]: cosigned } };
    // Durable before the writer learns it was cosigned: a witness that forgot would cosign a cut.
    writeFileAtomic(join(this.#directory, "logs.json"), `${JSON.stringify(this.#state)}\n`, 0o600);
    return { status: "cosigned", cosignature: signatureLine(cosignature) };
  }

  async latest(origin: string): Promise<string | undefined> {
    return this.#state.logs[origin];
  }

  async origins(): Promise<string[]> {
    return Object.keys(this.#state.logs);
  }
}
