import { describe, expect, it } from "vitest";
import { isoTime } from "./iso-time.js";

describe("isoTime", () => {
  it("matches Date.prototype.toISOString everywhere", () => {
    const samples = [
      0,
      1,
      9,
      10,
      99,
      100,
      999,
      1000,
      1.9,
      59_999.5,
      Date.parse("2026-01-05T09:00:00Z"),
      Date.parse("2024-02-29T23:59:59.999Z"),
      253_402_300_799_999,
      253_402_300_800_000,
      -1,
      -1.5,
      -86_400_000,
    ];
    let seed = 42;
    for (let index = 0; index < 5000; index++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      samples.push((seed / 2 ** 31) * 4_102_444_800_000 + (index % 3 === 0 ? 0.25 : 0));
    }
    for (const epochMs of samples) {
      // Twice: once filling the per-second cache, once from it.
      expect(isoTime(epochMs)).toBe(new Date(epochMs).toISOString());
      expect(isoTime(epochMs)).toBe(new Date(epochMs).toISOString());
    }
  });

  it("throws as Date does for a time it cannot represent", () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });
});
