import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cosignedCheckpoint, cosignedPath, writerCheckpoint } from "./audit-checkpoints.js";
import {
  cosignatureTime,
  cosignNoteBody,
  ED25519_COSIGNATURE,
  ED25519_NOTE,
  formatNote,
  formatVerifierKey,
  hasNoteSignature,
  noteKeyId,
  parseNote,
  parseVerifierKey,
  rawPublicKey,
  signatureLine,
  signNoteBody,
} from "./signed-note.js";
import { auditOrigin, formatCheckpoint, parseCheckpoint } from "./tlog-checkpoint.js";

// Each test pins down a check of the checkpoint and signed-note code that a mutation changed
// without any other test noticing (MUTATION.md; SECURITY.md K77–K79, I62).

const ROOT = Buffer.alloc(32, 7);
const ROOT_B64 = ROOT.toString("base64");
const ORIGIN = auditOrigin("log-1");
const BODY = formatCheckpoint({ origin: ORIGIN, size: 3, root: ROOT });

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, raw: rawPublicKey(publicKey) };
}

describe("checkpoint bodies", () => {
  it("K78: a checkpoint is exactly origin, decimal size and a 32-byte base64 root, each on its line", () => {
    expect(parseCheckpoint(BODY)).toEqual({ origin: ORIGIN, size: 3, root: ROOT });
    expect(parseCheckpoint(`${ORIGIN}\n0\n${ROOT_B64}\n`).size).toBe(0);
    expect(parseCheckpoint(`${ORIGIN}\n1234567890123456\n${ROOT_B64}\nextension\n`).size).toBe(
      1234567890123456,
    );
    for (const bad of [
      "",
      `${ORIGIN}\n`,
      `${ORIGIN}\n3\n`,
      `\n3\n${ROOT_B64}\n`,
      `x ${ORIGIN}\n3\n${ROOT_B64}\n`,
      ` ${ORIGIN}\n3\n${ROOT_B64}\n`,
      `${ORIGIN} \n3\n${ROOT_B64}\n`,
      `${ORIGIN}\n03\n${ROOT_B64}\n`,
      `${ORIGIN}\n-3\n${ROOT_B64}\n`,
      `${ORIGIN}\n 3\n${ROOT_B64}\n`,
      `${ORIGIN}\n3 \n${ROOT_B64}\n`,
      `${ORIGIN}\n3x\n${ROOT_B64}\n`,
      `${ORIGIN}\nx3\n${ROOT_B64}\n`,
      `${ORIGIN}\n99999999999999999\n${ROOT_B64}\n`,
      `${ORIGIN}\n3\n${ROOT_B64.slice(0, -1)}\n`,
      `${ORIGIN}\n3\n${ROOT_B64.slice(0, -1)}A\n`,
      `${ORIGIN}\n3\nx${ROOT_B64}\n`,
      `${ORIGIN}\n3\n${ROOT_B64}x\n`,
      `${ORIGIN}\n3\n${"-".repeat(43)}=\n`,
    ]) {
      expect(() => parseCheckpoint(bad), JSON.stringify(bad)).toThrow(TypeError);
    }
  });

  it("the cosigned copy lives beside the checkpoint file", () => {
    expect(cosignedPath("/k/checkpoints/a.txt")).toBe("/k/checkpoints/a.txt.cosigned");
  });
});

describe("signed notes", () => {
  it("a note is a body, a blank line and signature lines; anything else is refused", () => {
    const { privateKey } = keyPair();
    const signature = signNoteBody(BODY, ORIGIN, privateKey);
    const text = formatNote({ body: BODY, signatures: [signature] });
    expect(text).toBe(`${BODY}\n${signatureLine(signature)}`);
    const note = parseNote(text);
    expect(note.body).toBe(BODY);
    expect(note.signatures).toEqual([signature]);
    const line = signatureLine(signature).slice(0, -1);
    for (const bad of [
      BODY,
      `${BODY}\n${line}`,
      `${BODY}\n${line.replace("\u2014", "-")}\n`,
      `${BODY}\n x${line}\n`,
      `${BODY}\n${line} x\n`,
      `${BODY}\n\u2014  ${ORIGIN} AAAAAAAA\n`,
      `${BODY}\n\u2014 ${ORIGIN} AAAA\n`,
      `${BODY}\n\u2014 ${ORIGIN} AAA*AAAA\n`,
    ]) {
      expect(() => parseNote(bad), JSON.stringify(bad)).toThrow(TypeError);
    }
    // Five bytes (a key id and one byte) is the shortest signature line a note may carry.
    expect(parseNote(`${BODY}\n\u2014 ${ORIGIN} AAAAAAA=\n`).signatures[0]?.signature).toEqual(
      Buffer.alloc(1),
    );
  });

  it("K78: only a signature by the right key, under the right name, over this body, counts", () => {
    const { privateKey, raw } = keyPair();
    const other = keyPair();
    const good = signNoteBody(BODY, ORIGIN, privateKey);
    expect(hasNoteSignature({ body: BODY, signatures: [good] }, ORIGIN, raw)).toBe(true);
    // Any one of the other signatures alone is not enough, in any order.
    const wrongName = { ...good, name: "elsewhere" };
    const wrongId = { ...good, keyId: Buffer.alloc(4) };
    const cut = { ...good, signature: good.signature.subarray(0, 63) };
    const long = { ...good, signature: Buffer.concat([good.signature, Buffer.alloc(1)]) };
    const forged = { ...good, signature: Buffer.alloc(64, 1) };
    for (const bad of [wrongName, wrongId, cut, long, forged]) {
      expect(hasNoteSignature({ body: BODY, signatures: [bad] }, ORIGIN, raw)).toBe(false);
      expect(hasNoteSignature({ body: BODY, signatures: [bad, good] }, ORIGIN, raw)).toBe(true);
    }
    expect(hasNoteSignature({ body: `${BODY}x\n`, signatures: [good] }, ORIGIN, raw)).toBe(false);
    expect(hasNoteSignature({ body: BODY, signatures: [good] }, ORIGIN, other.raw)).toBe(false);
    expect(hasNoteSignature({ body: BODY, signatures: [] }, ORIGIN, raw)).toBe(false);
  });

  it("K79: a cosignature's time is returned only for the witness's key and name over this body", () => {
    const { privateKey, raw } = keyPair();
    const other = keyPair();
    const cosignature = cosignNoteBody(BODY, "witness", privateKey, 1_700_000_000);
    const note = { body: BODY, signatures: [cosignature] };
    expect(cosignatureTime(note, "witness", raw)).toBe(1_700_000_000);
    expect(cosignatureTime(note, "other", raw)).toBeUndefined();
    expect(cosignatureTime(note, "witness", other.raw)).toBeUndefined();
    expect(cosignatureTime({ body: `${BODY}x\n`, signatures: [cosignature] }, "witness", raw)).toBe(
      undefined,
    );
    // A note signature by the same key is not a cosignature (another key id, no time).
    const plain = signNoteBody(BODY, "witness", privateKey);
    expect(cosignatureTime({ body: BODY, signatures: [plain] }, "witness", raw)).toBeUndefined();
    const sameId = { ...plain, keyId: noteKeyId("witness", ED25519_COSIGNATURE, raw) };
    expect(cosignatureTime({ body: BODY, signatures: [sameId] }, "witness", raw)).toBeUndefined();
    // A changed time breaks the signature; a bad one first does not hide a good one after it.
    const time = Buffer.from(cosignature.signature);
    time.writeBigUInt64BE(1_700_000_001n);
    const retimed = { ...cosignature, signature: time };
    expect(cosignatureTime({ body: BODY, signatures: [retimed] }, "witness", raw)).toBeUndefined();
    expect(
      cosignatureTime({ body: BODY, signatures: [retimed, cosignature] }, "witness", raw),
    ).toBe(1_700_000_000);
    const long = {
      ...cosignature,
      signature: Buffer.concat([cosignature.signature, Buffer.alloc(1)]),
    };
    expect(cosignatureTime({ body: BODY, signatures: [long] }, "witness", raw)).toBeUndefined();
  });

  it("a verifier key parses back to its parts; a wrong id, type byte, key length or name is refused", () => {
    // A key whose id holds a hex letter, so that its upper-cased id below is another text (an id
    // of digits only, 1 key in 43, would upper-case to itself and be accepted).
    let raw: Buffer;
    let vkey: string;
    do {
      raw = keyPair().raw;
      vkey = formatVerifierKey("witness.example", ED25519_COSIGNATURE, raw);
    } while (!/[a-f]/.test(vkey.split("+")[1] as string));
    expect(parseVerifierKey(` ${vkey}\n`)).toEqual({
      name: "witness.example",
      type: ED25519_COSIGNATURE,
      publicKey: raw,
    });
    const [name, id, key] = vkey.split("+") as [string, string, string];
    const bytes = Buffer.from(key, "base64");
    const retyped = Buffer.from(bytes);
    retyped[0] = ED25519_NOTE;
    for (const bad of [
      "",
      `+${id}+${key}`,
      `${name}+${id}+`,
      `${name}+00000000+${key}`,
      `${name}+${id.toUpperCase()}+${key}`,
      `${name}+${id}0+${key}`,
      `${name}+${id}+${retyped.toString("base64")}`,
      `${name}+${id}+${bytes.subarray(0, 32).toString("base64")}`,
      `${name}+${id}+${Buffer.concat([bytes, Buffer.alloc(1)]).toString("base64")}`,
      `other+${id}+${key}`,
      `x ${name}+${id}+${key}`,
      `${name}+${id}+${key}*`,
    ]) {
      expect(() => parseVerifierKey(bad), JSON.stringify(bad)).toThrow(TypeError);
    }
  });
});

describe("trusted checkpoints", () => {
  it("K78: a writer checkpoint is trusted only when signed by the writer key under its own origin", () => {
    const { privateKey, raw } = keyPair();
    const other = keyPair();
    const text = formatNote({ body: BODY, signatures: [signNoteBody(BODY, ORIGIN, privateKey)] });
    expect(writerCheckpoint(text, raw)).toEqual({
      origin: ORIGIN,
      size: 3,
      root: ROOT,
      note: text,
    });
    expect(writerCheckpoint(text, other.raw)).toBeUndefined();
    const elsewhere = formatNote({
      body: BODY,
      signatures: [signNoteBody(BODY, auditOrigin("log-2"), privateKey)],
    });
    expect(writerCheckpoint(elsewhere, raw)).toBeUndefined();
    expect(writerCheckpoint("not a note", raw)).toBeUndefined();
  });

  it("K79: a cosigned checkpoint is trusted only with the witness's cosignature, and carries its time", () => {
    const { privateKey, raw } = keyPair();
    const other = keyPair();
    const vkey = formatVerifierKey("witness", ED25519_COSIGNATURE, raw);
    const text = formatNote({
      body: BODY,
      signatures: [cosignNoteBody(BODY, "witness", privateKey, 42)],
    });
    expect(cosignedCheckpoint(text, vkey)).toEqual({
      origin: ORIGIN,
      size: 3,
      root: ROOT,
      note: text,
      cosignedAt: 42,
    });
    expect(
      cosignedCheckpoint(text, formatVerifierKey("witness", ED25519_COSIGNATURE, other.raw)),
    ).toBeUndefined();
    expect(cosignedCheckpoint(text, "not a key")).toBeUndefined();
    expect(cosignedCheckpoint("not a note", vkey)).toBeUndefined();
  });
});

describe("signed-note edges", () => {
  // A fixed key, so that no test depends on which characters a random key's base64 holds.
  const raw = Buffer.alloc(32, 0x11);
  const vkey = formatVerifierKey("witness.example", ED25519_COSIGNATURE, raw);

  it("a verifier key is refused with its own message: no match, a prefix, a short key with its own id", () => {
    expect(parseVerifierKey(vkey).publicKey).toEqual(raw);
    for (const bad of ["", "a+b", `x ${vkey}`, `x${"\u00a0"}${vkey}`, `${vkey} x`]) {
      expect(() => parseVerifierKey(bad), JSON.stringify(bad)).toThrow(
        "not a verifier key (<name>+<key id>+<base64 key>)",
      );
    }
    // A key of 31 or 33 bytes is refused even when the key id is computed over it.
    for (const length of [31, 33]) {
      const odd = formatVerifierKey(
        "witness.example",
        ED25519_COSIGNATURE,
        Buffer.alloc(length, 1),
      );
      expect(() => parseVerifierKey(odd), String(length)).toThrow("not a verifier key");
    }
  });

  it("a signature by a key that is not an Ed25519 public key never counts, whatever its key id", () => {
    const bad = Buffer.alloc(31, 2);
    const name = "writer";
    const signature = {
      name,
      keyId: noteKeyId(name, ED25519_NOTE, bad),
      signature: Buffer.alloc(64),
    };
    expect(hasNoteSignature({ body: BODY, signatures: [signature] }, name, bad)).toBe(false);
    const cosignature = {
      name,
      keyId: noteKeyId(name, ED25519_COSIGNATURE, bad),
      signature: Buffer.alloc(72),
    };
    expect(cosignatureTime({ body: BODY, signatures: [cosignature] }, name, bad)).toBeUndefined();
  });

  it("a cosignature too short to hold a time is skipped, not an error", () => {
    const { raw: key } = keyPair();
    const short = {
      name: "witness",
      keyId: noteKeyId("witness", ED25519_COSIGNATURE, key),
      signature: Buffer.alloc(1),
    };
    expect(cosignatureTime({ body: BODY, signatures: [short] }, "witness", key)).toBeUndefined();
  });

  it("a note: the first blank line splits it; without one, or with a bad line, it is refused with its message", () => {
    expect(parseNote(`\n\n\u2014 n AAAAAAA=\n`)).toEqual({
      body: "\n",
      signatures: [{ name: "n", keyId: Buffer.alloc(4), signature: Buffer.alloc(1) }],
    });
    expect(() => parseNote(`x\u2014 n AAAAAAA=\n`)).toThrow("not a signed note");
    expect(() => parseNote(`${BODY}\n\u2014 n AAAAAAA=`)).toThrow("not a signed note");
    expect(() => parseNote(`${BODY}\nnot a signature\n`)).toThrow(
      "a note signature line is malformed",
    );
  });
});
