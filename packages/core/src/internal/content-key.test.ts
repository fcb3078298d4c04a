import { describe, expect, it } from "vitest";
import { contentKey, freezeWithTag } from "./content-key.js";

describe("contentKey", () => {
  it("is the JSON of a value that was not tagged", () => {
    expect(contentKey({ a: [1, "x"] })).toBe('{"a":[1,"x"]}');
    expect(contentKey("text")).toBe('"text"');
  });

  it("is a short tag for a tagged value, which is frozen all the way down and never read again", () => {
    const subject = freezeWithTag({ id: "a", properties: { labels: { tier: "gold" } } });
    expect(Object.isFrozen(subject.properties.labels)).toBe(true);
    expect(contentKey(subject)).toMatch(/^#[0-9a-z]+$/);
    expect(contentKey(subject)).toBe(contentKey(subject));
    // Equal content, another object: another key (a cache misses rather than confuses them).
    const twin = freezeWithTag({ id: "a", properties: { labels: { tier: "gold" } } });
    expect(contentKey(twin)).not.toBe(contentKey(subject));
    expect(contentKey(twin).startsWith("{")).toBe(false);
  });
});
