import { createPublicKey, hash as digest, type KeyObject, sign, verify } from "node:crypto";

/**
 * Signed notes (C2SP `signed-note`) with Ed25519 signatures, and witness cosignatures (C2SP
 * `tlog-cosignature`, `cosignature/v1`). A note is text ending in a newline, a blank line, then
 * one line per signature: `— <key name> base64(4-byte key id || signature)`.
 */

/** Signature type of an Ed25519 note signature. */
export const ED25519_NOTE = 0x01;
/** Signature type of an Ed25519 `cosignature/v1` (timestamped). */
export const ED25519_COSIGNATURE = 0x04;

const DASH = "\u2014";

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: Buffer;
  /** The bytes after the key id: a signature, or a timestamp and a signature for cosignatures. */
  readonly signature: Buffer;
}

/** A parsed note: its signed body (ending in a newline) and its signature lines. */
export interface Note {
  readonly body: string;
  readonly signatures: readonly NoteSignature[];
}

/** An Ed25519 public key in raw form (32 bytes). */
export function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(String(key.export({ format: "jwk" }).x), "base64url");
}

/** The Ed25519 public key of 32 raw bytes. */
export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
    format: "jwk",
  });
}

/** `SHA-256(name || "\n" || type || public key)[:4]`: the key id of a note signer. */
export function noteKeyId(name: string, type: number, publicKey: Buffer): Buffer {
  return digest(
    "sha256",
    Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([type]), publicKey]),
    "buffer",
  ).subarray(0, 4);
}

/** A verifier key (`vkey`): `<name>+<hex key id>+<base64(type || public key)>`. */
export function formatVerifierKey(name: string, type: number, publicKey: Buffer): string {
  return `${name}+${noteKeyId(name, type, publicKey).toString("hex")}+${Buffer.concat([Buffer.from([type]), publicKey]).toString("base64")}`;
}

/** Parses a `vkey`; throws `TypeError` when it is malformed or its key id does not match. */
export function parseVerifierKey(vkey: string): { name: string; type: number; publicKey: Buffer } {
  // A key name never holds "+" (signed-note), but the base64 key may.
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey.trim());
  const name = match?.[1] ?? "";
  const id = match?.[2];
  const bytes = Buffer.from(match?.[3] ?? "", "base64");
  const type = bytes[0];
  const publicKey = bytes.subarray(1);
  if (
    name === "" ||
    type === undefined ||
    publicKey.length !== 32 ||
    noteKeyId(name, type, publicKey).toString("hex") !== id
  ) {
    throw new TypeError("not a verifier key (<name>+<key id>+<base64 key>)");
  }
  return { name, type, publicKey };
}

/** Splits a note into body and signatures; throws `TypeError` when it is not a note. */
export function parseNote(text: string): Note {
  const split = text.indexOf("\n\n");
  if (split < 0 || !text.endsWith("\n")) throw new TypeError("not a signed note");
  const body = text.slice(0, split + 1);
  const signatures: NoteSignature[] = [];
  for (const line of text.slice(split + 2, -1).split("\n")) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (match === null) throw new TypeError("a note signature line is malformed");
    const bytes = Buffer.from(match[2] as string, "base64");
    if (bytes.length < 5) throw new TypeError("a note signature is too short");
    signatures.push({
      name: match[1] as string,
      keyId: bytes.subarray(0, 4),
      signature: bytes.subarray(4),
    });
  }
  return { body, signatures };
}

/** A note as text: body, blank line, signature lines. */
export function formatNote(note: Note): string {
  return `${note.body}\n${note.signatures.map(signatureLine).join("")}`;
}

/** The text of one signature line, newline included. */
export function signatureLine(signature: NoteSignature): string {
  return `${DASH} ${signature.name} ${Buffer.concat([signature.keyId, signature.signature]).toString("base64")}\n`;
}

/** Signs a note body with an Ed25519 key under `name`. */
export function signNoteBody(body: string, name: string, privateKey: KeyObject): NoteSignature {
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return {
    name,
    keyId: noteKeyId(name, ED25519_NOTE, publicKey),
    signature: sign(null, Buffer.from(body), privateKey),
  };
}

/** True when `note` carries a valid Ed25519 signature by `publicKey` under `name`. */
export function hasNoteSignature(note: Note, name: string, publicKey: Buffer): boolean {
  const keyId = noteKeyId(name, ED25519_NOTE, publicKey);
  return note.signatures.some(
    (signature) =>
      signature.name === name &&
      signature.keyId.equals(keyId) &&
      signature.signature.length === 64 &&
      safeVerify(Buffer.from(note.body), publicKey, signature.signature),
  );
}

/** The message a `cosignature/v1` signs. */
function cosignedMessage(body: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${body}`);
}

/** Cosigns a checkpoint body at `timestamp` (seconds since the epoch). */
export function cosignNoteBody(
  body: string,
  name: string,
  privateKey: KeyObject,
  timestamp: number,
): NoteSignature {
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timestamp));
  return {
    name,
    keyId: noteKeyId(name, ED25519_COSIGNATURE, publicKey),
    signature: Buffer.concat([time, sign(null, cosignedMessage(body, timestamp), privateKey)]),
  };
}

/**
 * The time (seconds) of a valid `cosignature/v1` by `publicKey` under `name` on `note`, or
 * undefined when there is none.
 */
export function cosignatureTime(note: Note, name: string, publicKey: Buffer): number | undefined {
  const keyId = noteKeyId(name, ED25519_COSIGNATURE, publicKey);
  for (const signature of note.signatures) {
    if (signature.name !== name || !signature.keyId.equals(keyId)) continue;
    if (signature.signature.length !== 72) continue;
    const timestamp = Number(signature.signature.readBigUInt64BE(0));
    if (
      safeVerify(cosignedMessage(note.body, timestamp), publicKey, signature.signature.subarray(8))
    )
      return timestamp;
  }
  return undefined;
}

function safeVerify(message: Buffer, publicKey: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, message, publicKeyFromRaw(publicKey), signature);
  } catch {
    return false;
  }
}
