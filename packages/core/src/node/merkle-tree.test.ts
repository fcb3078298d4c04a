import { describe, expect, it } from "vitest";
import {
  CompactRange,
  CosignedRange,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  leavesLookup,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from "./merkle-tree.js";

// The test vectors of RFC 6962's reference implementation (certificate-transparency), kept for
// RFC 9162, which hashes trees the same way.
const INPUTS = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map((hex) => Buffer.from(hex, "hex"));
const ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/** RFC 9162 §2.1.1, literally: the reference every optimised path is compared with. */
function mth(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leaves = Array.from({ length: 70 }, (_, index) => leafHash(`record ${index}`));

describe("Merkle tree (RFC 9162)", () => {
  it("matches the reference test vectors", () => {
    expect(EMPTY_ROOT.toString("hex")).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    const range = new CompactRange();
    INPUTS.forEach((input, index) => {
      range.append(leafHash(input));
      expect(range.root().toString("hex"), `size ${index + 1}`).toBe(ROOTS[index]);
    });
  });

  it("a compact range has the root of the whole tree at every size", () => {
    const range = new CompactRange();
    for (let size = 1; size <= leaves.length; size++) {
      range.append(leaves[size - 1] as Buffer);
      expect(range.root().equals(mth(leaves.slice(0, size))), `size ${size}`).toBe(true);
      expect(range.clone().root().equals(range.root())).toBe(true);
    }
  });

  it("every inclusion proof verifies, and no other leaf, index, size or root passes", () => {
    const lookup = leavesLookup(leaves);
    for (let size = 1; size <= 33; size++) {
      const root = mth(leaves.slice(0, size));
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(lookup, index, size);
        const leaf = leaves[index] as Buffer;
        expect(verifyInclusion(leaf, index, size, proof, root), `${index}/${size}`).toBe(true);
        expect(verifyInclusion(leaves[index + 1] as Buffer, index, size, proof, root)).toBe(false);
        if (size > 1) {
          expect(verifyInclusion(leaf, (index + 1) % size, size, proof, root)).toBe(false);
          expect(verifyInclusion(leaf, index, size, proof, mth(leaves.slice(0, size - 1)))).toBe(
            false,
          );
        }
        expect(verifyInclusion(leaf, index, size, [...proof, leaf], root)).toBe(false);
        expect(verifyInclusion(leaf, size, size, proof, root)).toBe(false);
      }
    }
  });

  it("every consistency proof verifies, and a changed old or new root fails", () => {
    const lookup = leavesLookup(leaves);
    for (let newSize = 1; newSize <= 33; newSize++) {
      const newRoot = mth(leaves.slice(0, newSize));
      for (let oldSize = 1; oldSize <= newSize; oldSize++) {
        const oldRoot = mth(leaves.slice(0, oldSize));
        const proof = consistencyProof(lookup, oldSize, newSize);
        expect(
          verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof),
          `${oldSize}→${newSize}`,
        ).toBe(true);
        const other = leafHash("other");
        expect(verifyConsistency(oldSize, newSize, other, newRoot, proof)).toBe(false);
        expect(verifyConsistency(oldSize, newSize, oldRoot, other, proof)).toBe(false);
        if (proof.length > 0) {
          expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof.slice(1))).toBe(false);
          expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, [...proof, other])).toBe(
            false,
          );
        }
        if (oldSize < newSize) {
          expect(verifyConsistency(newSize, oldSize, newRoot, oldRoot, proof)).toBe(false);
        }
      }
    }
  });

  it("a consistency proof needs only the old tree's compact range and the leaves after it", () => {
    for (let oldSize = 1; oldSize <= 40; oldSize++) {
      const base = new CompactRange();
      for (const leaf of leaves.slice(0, oldSize)) base.append(leaf);
      const nodes = base.nodes();
      const lookup = (start: number, size: number) =>
        nodes.get(`${start}:${size}`) ??
        (start >= oldSize && size === 1 ? leaves[start] : undefined);
      for (let newSize = oldSize; newSize <= 70; newSize += 3) {
        expect(consistencyProof(lookup, oldSize, newSize)).toEqual(
          consistencyProof(leavesLookup(leaves), oldSize, newSize),
        );
      }
    }
  });
  it("a cosigned range proves growth from its size with bounded state, and advances only forward", () => {
    const treeAt = (size: number) => {
      const tree = new CompactRange();
      for (const leaf of leaves.slice(0, size)) tree.append(leaf);
      return tree;
    };
    for (let oldSize = 0; oldSize <= 40; oldSize += 1) {
      const range = new CosignedRange(treeAt(oldSize), leaves.slice(oldSize, 50));
      for (const leaf of leaves.slice(50, 70)) range.append(leaf);
      expect([range.size, range.treeSize]).toEqual([oldSize, 70]);
      for (let newSize = oldSize; newSize <= 70; newSize += 3) {
        const proof = range.proof(newSize);
        expect(proof).toEqual(consistencyProof(leavesLookup(leaves), oldSize, newSize));
        if (oldSize > 0)
          expect(
            verifyConsistency(
              oldSize,
              newSize,
              mth(leaves.slice(0, oldSize)),
              mth(leaves.slice(0, newSize)),
              proof,
            ),
          ).toBe(true);
      }
      expect(() => range.proof(71)).toThrow(RangeError);
      // The witness cosigned a later size: proofs now start there, from what is kept.
      const next = Math.min(oldSize + 17, 70);
      range.advance(treeAt(next));
      expect([range.size, range.treeSize]).toEqual([next, 70]);
      expect(range.proof(70)).toEqual(consistencyProof(leavesLookup(leaves), next, 70));
      expect(() => range.advance(treeAt(oldSize))).toThrow(RangeError);
    }
    expect(() => new CosignedRange(treeAt(3), leaves.slice(3, 5)).advance(treeAt(6))).toThrow(
      RangeError,
    );
  });
});
