import type { Clock } from "../clock.js";

/**
 * A clock that moves only when told: tests pin time and assert exact expiries.
 *
 * @example
 * ```ts
 * const clock = new TestClock("2026-01-05T10:00:00Z");
 * clock.advance(60_000);
 * ```
 */
export class TestClock implements Clock {
  #now: number;

  constructor(start: number | string | Date = "2026-01-05T10:00:00.000Z") {
    this.#now = toMillis(start);
  }

  now(): number {
    return this.#now;
  }

  /** Sets the time. */
  set(time: number | string | Date): void {
    this.#now = toMillis(time);
  }

  /** Moves the time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#now += ms;
  }
}

function toMillis(time: number | string | Date): number {
  const millis = typeof time === "number" ? time : new Date(time).getTime();
  if (!Number.isFinite(millis)) throw new TypeError("TestClock needs a valid time.");
  return millis;
}
