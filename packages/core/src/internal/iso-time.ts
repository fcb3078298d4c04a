let cachedSecond = Number.NaN;
let cachedPrefix = "";
const LAST_FAST = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/**
 * `new Date(epochMs).toISOString()`, without building a `Date` and formatting every field on each
 * call: the text up to the second is kept for the current second (the gate stamps several events
 * and a request per call, all within the same second). Identical output for every input.
 */
export function isoTime(epochMs: number): string {
  if (!(epochMs >= 0 && epochMs <= LAST_FAST)) return new Date(epochMs).toISOString();
  const ms = Math.trunc(epochMs);
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    cachedSecond = second;
  }
  const millis = ms - second * 1000;
  return `${cachedPrefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}
