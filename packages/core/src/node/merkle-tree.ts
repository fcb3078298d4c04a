import { hash as digest } from "node:crypto";

/**
 * Merkle tree hashing of RFC 9162 §2.1 (Certificate Transparency 2.0): a leaf hashes as
 * `SHA-256(0x00 || data)`, an inner node as `SHA-256(0x01 || left || right)`, the tree over `n`
 * leaves splits at the largest power of two below `n`, and the empty tree hashes as SHA-256 of
 * nothing. The prefixes keep a leaf from ever being taken for a node (second preimages).
 *
 * An audit record's own `hash` is its leaf hash (`SHA-256(0x00 || record bytes)`), so the tree
 * costs one node hash per record on average and nothing more.
 */

/** The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Buffer = digest("sha256", Buffer.alloc(0), "buffer");

const NODE_PREFIX = Buffer.from([1]);

/** `SHA-256(0x00 || data)`: the hash of one leaf. */
export function leafHash(data: Buffer | string): Buffer {
  return digest("sha256", Buffer.concat([Buffer.from([0]), Buffer.from(data)]), "buffer");
}

/** `SHA-256(0x01 || left || right)`: the hash of an inner node. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return digest("sha256", Buffer.concat([NODE_PREFIX, left, right], 65), "buffer");
}

/** The largest power of two strictly below `n` (n ≥ 2): where RFC 9162 splits a tree of `n`. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The roots of the perfect subtrees that make up a tree, left to right ("compact range"): all a
 * streaming reader needs to know the root at any size, in O(log n) memory. Appending costs one
 * node hash on average.
 */
export class CompactRange {
  /** Sizes (powers of two, strictly decreasing) and hashes of the perfect subtrees. */
  readonly #sizes: number[];
  readonly #hashes: Buffer[];
  #size: number;

  constructor(sizes: readonly number[] = [], hashes: readonly Buffer[] = []) {
    this.#sizes = [...sizes];
    this.#hashes = [...hashes];
    this.#size = sizes.reduce((sum, size) => sum + size, 0);
  }

  /** The number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** Appends one leaf hash. */
  append(leaf: Buffer): void {
    let size = 1;
    let hash = leaf;
    while (this.#sizes.length > 0 && this.#sizes[this.#sizes.length - 1] === size) {
      this.#sizes.pop();
      hash = nodeHash(this.#hashes.pop() as Buffer, hash);
      size *= 2;
    }
    this.#sizes.push(size);
    this.#hashes.push(hash);
    this.#size++;
  }

  /** The tree's root hash (RFC 9162 MTH). */
  root(): Buffer {
    if (this.#hashes.length === 0) return EMPTY_ROOT;
    let root = this.#hashes[this.#hashes.length - 1] as Buffer;
    for (let index = this.#hashes.length - 2; index >= 0; index--) {
      root = nodeHash(this.#hashes[index] as Buffer, root);
    }
    return root;
  }

  /** The perfect subtrees as `start → hash`, keyed `"<start>:<size>"`. */
  nodes(): Map<string, Buffer> {
    const nodes = new Map<string, Buffer>();
    let start = 0;
    this.#sizes.forEach((size, index) => {
      nodes.set(`${start}:${size}`, this.#hashes[index] as Buffer);
      start += size;
    });
    return nodes;
  }

  /** An independent copy. */
  clone(): CompactRange {
    return new CompactRange(this.#sizes, this.#hashes);
  }
}

/**
 * What a writer keeps to prove its log grew append-only since the size a witness last cosigned:
 * the compact range at that size and every leaf after it. A consistency proof to any later size
 * then costs hashes over the leaves since, and memory stays bounded by them, however long the
 * log (RFC 9162 §2.1.4).
 */
export class CosignedRange {
  #base: CompactRange;
  #nodes: Map<string, Buffer>;
  #since: Buffer[];

  /** `base` is the tree at the cosigned size; `since` the leaves appended after it. */
  constructor(base: CompactRange = new CompactRange(), since: readonly Buffer[] = []) {
    this.#base = base.clone();
    this.#nodes = this.#base.nodes();
    this.#since = [...since];
  }

  /** The cosigned size. */
  get size(): number {
    return this.#base.size;
  }

  /** The size of the tree so far: the cosigned size plus the leaves appended since. */
  get treeSize(): number {
    return this.#base.size + this.#since.length;
  }

  /** Appends one leaf hash after the cosigned size. */
  append(leaf: Buffer): void {
    this.#since.push(leaf);
  }

  /** The consistency proof from the cosigned size to `size` (at most {@link treeSize}). */
  proof(size: number): Buffer[] {
    const baseSize = this.#base.size;
    const nodes = this.#nodes;
    const since = this.#since;
    if (size > this.treeSize)
      throw new RangeError(`no proof to ${size}: the tree has ${this.treeSize}`);
    return consistencyProof(
      (start, span) =>
        // A leaf before the cosigned size is in `nodes` or nowhere: `since[negative]` is undefined.
        nodes.get(`${start}:${span}`) ?? (span === 1 ? since[start - baseSize] : undefined),
      baseSize,
      size,
    );
  }

  /** The witness cosigned `tree` (the compact range at its size): the leaves before it go. */
  advance(tree: CompactRange): void {
    const drop = tree.size - this.#base.size;
    if (drop < 0 || drop > this.#since.length)
      throw new RangeError(`cannot advance from ${this.#base.size} to ${tree.size}`);
    this.#since = this.#since.slice(drop);
    this.#base = tree.clone();
    this.#nodes = this.#base.nodes();
  }
}

/**
 * The hash of the leaves `[start, end)`, built from what `lookup` knows: a perfect subtree it
 * returns, or a single leaf. Throws when neither it nor its halves are known.
 */
export type RangeLookup = (start: number, size: number) => Buffer | undefined;

/** RFC 9162 MTH of the leaves `[start, end)` through `lookup`. */
export function rangeHash(lookup: RangeLookup, start: number, end: number): Buffer {
  const size = end - start;
  if (size === 0) return EMPTY_ROOT;
  const known = lookup(start, size);
  if (known !== undefined) return known;
  if (size === 1) throw new RangeError(`leaf ${start} is not known`);
  const k = splitPoint(size);
  return nodeHash(rangeHash(lookup, start, start + k), rangeHash(lookup, start + k, end));
}

/** A lookup over an array of leaf hashes (all leaves in memory: for proofs made offline). */
export function leavesLookup(leaves: readonly Buffer[]): RangeLookup {
  return (start, size) => (size === 1 ? leaves[start] : undefined);
}

/**
 * The inclusion proof (audit path) of leaf `index` in the tree of the first `size` leaves,
 * RFC 9162 §2.1.3.1: sibling hashes from the leaf up.
 */
export function inclusionProof(lookup: RangeLookup, index: number, size: number): Buffer[] {
  if (!(index >= 0 && index < size))
    throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path = (m: number, start: number, end: number): Buffer[] => {
    if (end - start <= 1) return [];
    const k = splitPoint(end - start);
    return m < k
      ? [...path(m, start, start + k), rangeHash(lookup, start + k, end)]
      : [...path(m - k, start + k, end), rangeHash(lookup, start, start + k)];
  };
  return path(index, 0, size);
}

/**
 * The consistency proof between the trees of the first `oldSize` and `newSize` leaves,
 * RFC 9162 §2.1.4.1. Empty when the sizes are equal or `oldSize` is 0.
 */
export function consistencyProof(lookup: RangeLookup, oldSize: number, newSize: number): Buffer[] {
  if (!(oldSize >= 0 && oldSize <= newSize))
    throw new RangeError(`no proof from ${oldSize} to ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const sub = (m: number, start: number, end: number, whole: boolean): Buffer[] => {
    const n = end - start;
    if (m === n) return whole ? [] : [rangeHash(lookup, start, end)];
    const k = splitPoint(n);
    return m <= k
      ? [...sub(m, start, start + k, whole), rangeHash(lookup, start + k, end)]
      : [...sub(m - k, start + k, end, false), rangeHash(lookup, start, start + k)];
  };
  return sub(oldSize, 0, newSize, true);
}

/**
 * Checks an inclusion proof: that `leaf` sits at `index` of the tree of `size` leaves whose
 * root is `root` (RFC 9162 §2.1.3.2). Never throws.
 */
export function verifyInclusion(
  leaf: Buffer,
  index: number,
  size: number,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size))
    return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/**
 * Checks a consistency proof: that the tree of `newSize` leaves with root `newRoot` extends the
 * tree of `oldSize` leaves with root `oldRoot` (RFC 9162 §2.1.4.2). Never throws.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Buffer,
  newRoot: Buffer,
  proof: readonly Buffer[],
): boolean {
  if (!(Number.isSafeInteger(oldSize) && Number.isSafeInteger(newSize))) return false;
  if (oldSize < 0 || oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && oldRoot.equals(newRoot);
  if (oldSize === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  // An old tree of a power-of-two size is a perfect subtree at the left edge: its root is the
  // first node of the path.
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(oldRoot) && sr.equals(newRoot);
}
