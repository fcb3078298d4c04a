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
  rangeHash,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
} from "./merkle-tree.js";

// The edges of the RFC 9162 code that the vector tests of merkle-tree.test.ts do not reach:
// sizes and indexes that are not safe integers, empty and out-of-range proofs, what a lookup
// must know (MUTATION.md; the witness and `verifyAuditProof` rely on these, SECURITY.md K79).

const leaves = Array.from({ length: 9 }, (_, index) => leafHash(`leaf ${index}`));
const lookup = leavesLookup(leaves);
const rootOf = (size: number) => rangeHash(lookup, 0, size);

describe("Merkle tree edges", () => {
  it("splitPoint is the largest power of two strictly below n", () => {
    expect([2, 3, 4, 5, 8, 9, 16, 17].map(splitPoint)).toEqual([1, 2, 2, 4, 4, 8, 8, 16]);
  });

  it("a leaf hash is SHA-256 over 0x00 and the data, a node over 0x01 and both children", () => {
    expect(leafHash("").toString("hex")).toBe(
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    );
    expect(leafHash(Buffer.from("ab"))).toEqual(leafHash("ab"));
    const left = leafHash("l");
    const right = leafHash("r");
    expect(nodeHash(left, right)).not.toEqual(nodeHash(right, left));
    expect(nodeHash(left, right)).toHaveLength(32);
  });

  it("a compact range: its size, its nodes by start and size, and copies that do not share state", () => {
    const range = new CompactRange();
    expect(range.size).toBe(0);
    expect(range.root()).toEqual(EMPTY_ROOT);
    expect([...range.nodes().keys()]).toEqual([]);
    for (const leaf of leaves.slice(0, 7)) range.append(leaf);
    expect(range.size).toBe(7);
    expect([...range.nodes().keys()]).toEqual(["0:4", "4:2", "6:1"]);
    expect(range.nodes().get("4:2")).toEqual(rangeHash(lookup, 4, 6));
    expect(range.nodes().get("6:1")).toEqual(leaves[6]);
    const copy = range.clone();
    copy.append(leaves[7] as Buffer);
    expect(copy.size).toBe(8);
    expect(range.size).toBe(7);
    expect(range.root()).toEqual(rootOf(7));
    expect(copy.root()).toEqual(rootOf(8));
    expect([...copy.nodes().keys()]).toEqual(["0:8"]);
    const rebuilt = new CompactRange([4, 2, 1], [...range.nodes().values()]);
    expect(rebuilt.size).toBe(7);
    expect(rebuilt.root()).toEqual(rootOf(7));
  });

  it("rangeHash: the empty range is the empty root; a leaf the lookup does not know is an error", () => {
    expect(rangeHash(lookup, 3, 3)).toEqual(EMPTY_ROOT);
    expect(rangeHash(lookup, 2, 3)).toEqual(leaves[2]);
    expect(() => rangeHash(() => undefined, 0, 2)).toThrow(RangeError);
    expect(() => rangeHash(() => undefined, 5, 6)).toThrow("leaf 5 is not known");
    // A known subtree is used as it is, not rebuilt from its leaves.
    const known = Buffer.alloc(32, 9);
    expect(rangeHash((start, size) => (size === 4 ? known : lookup(start, size)), 0, 5)).toEqual(
      nodeHash(known, leaves[4] as Buffer),
    );
  });

  it("proofs are refused outside the tree", () => {
    expect(() => inclusionProof(lookup, -1, 4)).toThrow("leaf -1 is not in a tree of 4");
    expect(() => inclusionProof(lookup, 4, 4)).toThrow("leaf 4 is not in a tree of 4");
    expect(inclusionProof(lookup, 0, 1)).toEqual([]);
    expect(inclusionProof(lookup, 3, 4)).toEqual([leaves[2], rangeHash(lookup, 0, 2)]);
    expect(() => consistencyProof(lookup, -1, 4)).toThrow("no proof from -1 to 4");
    expect(() => consistencyProof(lookup, 5, 4)).toThrow("no proof from 5 to 4");
    expect(consistencyProof(lookup, 0, 4)).toEqual([]);
    expect(consistencyProof(lookup, 4, 4)).toEqual([]);
    expect(consistencyProof(lookup, 4, 8)).toEqual([rangeHash(lookup, 4, 8)]);
    expect(consistencyProof(lookup, 3, 4)).toEqual([leaves[2], leaves[3], rangeHash(lookup, 0, 2)]);
  });

  it("verifyInclusion: an index or size that is not a safe integer, or out of range, is false", () => {
    const proof = inclusionProof(lookup, 0, 2);
    const root = rootOf(2);
    expect(verifyInclusion(leaves[0] as Buffer, 0, 2, proof, root)).toBe(true);
    for (const [index, size] of [
      [0.5, 2],
      [0, 2.5],
      [Number.NaN, 2],
      [0, Number.NaN],
      [-1, 2],
      [2, 2],
      [0, 2 ** 53],
      [2 ** 53, 2 ** 53 + 2],
    ] as const) {
      expect(
        verifyInclusion(leaves[0] as Buffer, index, size, proof, root),
        `${index}/${size}`,
      ).toBe(false);
    }
    // A proof too long for the tree, or too short.
    expect(verifyInclusion(leaves[0] as Buffer, 0, 2, [...proof, root], root)).toBe(false);
    expect(verifyInclusion(leaves[0] as Buffer, 0, 2, [], root)).toBe(false);
    // A proof that ends below the root: its last hash is not taken for the root.
    expect(verifyInclusion(leaves[0] as Buffer, 0, 2, [], leaves[0] as Buffer)).toBe(false);
    expect(verifyInclusion(leaves[0] as Buffer, 0, 1, [], leaves[0] as Buffer)).toBe(true);
    // The last leaf of an odd tree: its path skips the levels where it has no sibling.
    for (const [index, size] of [
      [4, 5],
      [6, 7],
      [8, 9],
      [5, 6],
      [2, 3],
    ] as const) {
      const path = inclusionProof(lookup, index, size);
      expect(verifyInclusion(leaves[index] as Buffer, index, size, path, rootOf(size))).toBe(true);
      expect(
        verifyInclusion(leaves[index] as Buffer, index, size, path.slice(0, -1), rootOf(size)),
      ).toBe(false);
    }
  });

  it("verifyConsistency: sizes that are not safe integers, or out of order, are false; equal sizes need equal roots", () => {
    const proof = consistencyProof(lookup, 2, 4);
    expect(verifyConsistency(2, 4, rootOf(2), rootOf(4), proof)).toBe(true);
    for (const [oldSize, newSize] of [
      [2.5, 4],
      [2, 4.5],
      [Number.NaN, 4],
      [2, Number.NaN],
      [-2, 4],
      [4, 2],
      [2, 2 ** 53],
    ] as const) {
      expect(
        verifyConsistency(oldSize, newSize, rootOf(2), rootOf(4), proof),
        `${oldSize}→${newSize}`,
      ).toBe(false);
    }
    expect(verifyConsistency(4, 4, rootOf(4), rootOf(4), [])).toBe(true);
    expect(verifyConsistency(4, 4, rootOf(4), rootOf(4), [rootOf(4)])).toBe(false);
    expect(verifyConsistency(4, 4, rootOf(3), rootOf(4), [])).toBe(false);
    expect(verifyConsistency(0, 4, EMPTY_ROOT, rootOf(4), [])).toBe(true);
    expect(verifyConsistency(0, 4, EMPTY_ROOT, rootOf(4), [rootOf(4)])).toBe(false);
    expect(verifyConsistency(2, 4, rootOf(2), rootOf(4), [])).toBe(false);
    // Sizes out of order are refused before any proof is looked at, even one that would check.
    const [a, b] = [leaves[0] as Buffer, leaves[1] as Buffer];
    expect(verifyConsistency(3, 2, a, nodeHash(a, b), [a, b])).toBe(false);
    expect(verifyConsistency(-1, -1, a, a, [])).toBe(false);
    // A proof that stops below the new root: the hash it reached is not taken for that root.
    const extra = leafHash("x");
    expect(
      verifyConsistency(1, 4, leaves[0] as Buffer, nodeHash(leaves[0] as Buffer, extra), [extra]),
    ).toBe(false);
    // Old sizes that are and are not powers of two, into trees with odd right edges.
    for (const [oldSize, newSize] of [
      [1, 2],
      [2, 3],
      [3, 5],
      [4, 9],
      [5, 7],
      [6, 9],
      [7, 8],
    ] as const) {
      const path = consistencyProof(lookup, oldSize, newSize);
      expect(verifyConsistency(oldSize, newSize, rootOf(oldSize), rootOf(newSize), path)).toBe(
        true,
      );
      expect(
        verifyConsistency(oldSize, newSize, rootOf(oldSize), rootOf(newSize), [...path, rootOf(1)]),
      ).toBe(false);
    }
  });
});

describe("CosignedRange edges", () => {
  const treeAt = (size: number) => {
    const tree = new CompactRange();
    for (const leaf of leaves.slice(0, size)) tree.append(leaf);
    return tree;
  };

  it("K79: without leaves since, the tree is the cosigned tree; by default both are empty", () => {
    const empty = new CosignedRange();
    expect([empty.size, empty.treeSize]).toEqual([0, 0]);
    expect(empty.proof(0)).toEqual([]);
    const range = new CosignedRange(treeAt(4));
    expect([range.size, range.treeSize]).toEqual([4, 4]);
    expect(() => range.proof(5)).toThrow(RangeError);
    range.append(leaves[4] as Buffer);
    expect(range.proof(5)).toEqual(consistencyProof(lookup, 4, 5));
  });

  it("K79: the range keeps its own copies of the tree and the leaves it was given", () => {
    const tree = treeAt(4);
    const since = leaves.slice(4, 6);
    const range = new CosignedRange(tree, since);
    tree.append(leaves[4] as Buffer);
    since.length = 0;
    expect([range.size, range.treeSize]).toEqual([4, 6]);
    expect(range.proof(6)).toEqual(consistencyProof(lookup, 4, 6));
  });
});
