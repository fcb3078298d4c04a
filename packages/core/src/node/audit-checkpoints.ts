import { hash as digest } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { defaultCheckpointKeyPath } from "./checkpoint-key.js";
import { cosignatureTime, hasNoteSignature, parseNote, parseVerifierKey } from "./signed-note.js";
import { parseCheckpoint, type TreeHead } from "./tlog-checkpoint.js";

/** A checkpoint read back and checked: its tree head and the note it came in. */
export interface TrustedCheckpoint extends TreeHead {
  readonly note: string;
  /** Seconds since the epoch of the witness's cosignature, for cosigned checkpoints. */
  readonly cosignedAt?: number;
}

/**
 * Where a writer keeps the newest checkpoint of the log in `directory` by default: beside its
 * key, outside the `.agentgate/` directory (`<key dir>/checkpoints/<hash of the log path>.txt`),
 * so that deleting the log directory and everything in it still leaves the writer's memory of
 * how long the log was (SECURITY.md K77, I62). The cosigned copy is `<that>.cosigned`.
 */
export function defaultCheckpointPath(directory: string, keyPath?: string): string {
  const base = dirname(resolve(keyPath ?? defaultCheckpointKeyPath()));
  const id = digest("sha256", resolve(directory), "hex").slice(0, 16);
  return join(base, "checkpoints", `${id}.txt`);
}

/** The path of the cosigned copy of a checkpoint file. */
export function cosignedPath(checkpointPath: string): string {
  return `${checkpointPath}.cosigned`;
}

/** The file's text, or undefined when it does not exist. */
export function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** A note signed by the writer key `publicKey` under its own origin, or undefined. */
export function writerCheckpoint(text: string, publicKey: Buffer): TrustedCheckpoint | undefined {
  try {
    const note = parseNote(text);
    const head = parseCheckpoint(note.body);
    return hasNoteSignature(note, head.origin, publicKey) ? { ...head, note: text } : undefined;
  } catch {
    return undefined;
  }
}

/** A note cosigned by the witness whose verifier key is `witnessKey`, or undefined. */
export function cosignedCheckpoint(
  text: string,
  witnessKey: string,
): TrustedCheckpoint | undefined {
  try {
    const key = parseVerifierKey(witnessKey);
    const note = parseNote(text);
    const head = parseCheckpoint(note.body);
    const time = cosignatureTime(note, key.name, key.publicKey);
    return time === undefined ? undefined : { ...head, note: text, cosignedAt: time };
  } catch {
    return undefined;
  }
}
