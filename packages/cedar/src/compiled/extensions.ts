/**
 * Cedar's extension types as plain JavaScript, with the semantics of Cedar's own implementation
 * (`cedar-policy-core/src/extensions`: `ipaddr`, `decimal`, `datetime`): the same parsers (so a
 * string Cedar refuses is refused here, and one it takes means the same value), the same 64-bit
 * checked arithmetic, the same equality and order. Every failure is a {@link CedarEvaluationError}:
 * the policy that called the function errors, as in Cedar.
 */
import {
  CedarEvaluationError,
  type CedarValue,
  type ExtensionType,
  ExtensionValue,
  longOf,
} from "./values.js";

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** A 64-bit result, or Cedar's overflow error. */
function i64(value: bigint, what: string): bigint {
  if (value < I64_MIN || value > I64_MAX) throw new CedarEvaluationError(`${what} overflows`);
  return value;
}

function fail(message: string): never {
  throw new CedarEvaluationError(message);
}

// ---------------------------------------------------------------- ipaddr

const IP_STR_MAX_BYTES = 43;

function countAtLeastTwo(text: string, char: string): boolean {
  const first = text.indexOf(char);
  return first >= 0 && text.indexOf(char, first + 1) >= 0;
}

/** An IPv4 address as Rust's `Ipv4Addr::from_str`: four decimal octets, no leading zeros. */
function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return BigInt(value);
}

const HEX = /^[0-9A-Fa-f]$/;

/**
 * An IPv6 address as Rust's `Ipv6Addr::from_str`: up to eight groups of one to four hex digits,
 * one `::` standing for at least one zero group. (Rust also reads a trailing dotted IPv4 part;
 * Cedar refuses every such string before parsing, see {@link parseIp}.)
 */
function parseIpv6(text: string): bigint | undefined {
  let position = 0;
  const readGroups = (limit: number): number[] => {
    const groups: number[] = [];
    for (let index = 0; index < limit; index++) {
      const saved = position;
      if (index > 0) {
        if (text[position] !== ":") break;
        position++;
      }
      const start = position;
      while (position < text.length && HEX.test(text[position] as string)) position++;
      const digits = position - start;
      if (digits === 0 || digits > 4) {
        position = saved;
        break;
      }
      groups.push(Number.parseInt(text.slice(start, position), 16));
    }
    return groups;
  };
  const head = readGroups(8);
  let groups: number[];
  if (head.length === 8) groups = head;
  else {
    if (text[position] !== ":" || text[position + 1] !== ":") return undefined;
    position += 2;
    const tail = readGroups(7 - head.length);
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  if (position !== text.length) return undefined;
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

function parsePrefix(text: string, max: number, maxLength: number): number | undefined {
  if (text.length > maxLength || !/^[0-9]+$/.test(text)) return undefined;
  if (text.length > 1 && text[0] === "0") return undefined;
  const prefix = Number(text);
  return prefix > max ? undefined : prefix;
}

/** Cedar's `ip(…)`: an address or a CIDR range, IPv4 or IPv6, never IPv4 embedded in IPv6. */
export function parseIp(text: string): ExtensionValue {
  const invalid = () => fail(`invalid IP address: ${text}`);
  if (new TextEncoder().encode(text).length > IP_STR_MAX_BYTES) invalid();
  if (countAtLeastTwo(text, ":") && countAtLeastTwo(text, ".")) invalid();
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIpv4(address);
  const v6 = v4 === undefined ? parseIpv6(address) : undefined;
  if (v4 === undefined && v6 === undefined) invalid();
  const isV6 = v4 === undefined;
  let prefix = isV6 ? 128 : 32;
  if (slash >= 0) {
    const parsed = isV6
      ? parsePrefix(text.slice(slash + 1), 128, 3)
      : parsePrefix(text.slice(slash + 1), 32, 2);
    if (parsed === undefined) invalid();
    prefix = parsed as number;
  }
  return new ExtensionValue("ipaddr", (v4 ?? v6) as bigint, prefix, isV6);
}

function ipRange(ip: ExtensionValue): { network: bigint; broadcast: bigint } {
  const width = ip.v6 ? 128n : 32n;
  const all = (1n << width) - 1n;
  const prefix = BigInt(ip.prefix);
  const netmask = prefix === 0n ? 0n : (all << (width - prefix)) & all;
  const hostmask = all >> prefix;
  return { network: ip.value & netmask, broadcast: ip.value | hostmask };
}

function isInRange(child: ExtensionValue, parent: ExtensionValue): boolean {
  if (child.v6 !== parent.v6) return false;
  const self = ipRange(child);
  const other = ipRange(parent);
  return other.network <= self.network && self.broadcast <= other.broadcast;
}

function isLoopback(ip: ExtensionValue): boolean {
  return ip.v6 ? ip.value === 1n && ip.prefix >= 128 : ip.value >> 24n === 127n && ip.prefix >= 8;
}

function isMulticast(ip: ExtensionValue): boolean {
  return ip.v6
    ? ip.value >> 120n === 0xffn && ip.prefix >= 8
    : ip.value >> 28n === 0xen && ip.prefix >= 4;
}

// ---------------------------------------------------------------- decimal

/** Cedar's `decimal(…)`: digits, a point, one to four digits; 64-bit in units of 10^-4. */
export function parseDecimal(text: string): ExtensionValue {
  const match = /^(-?[0-9]+)\.([0-9]+)$/.exec(text);
  if (match === null) fail(`\`${text}\` is not a well-formed decimal value`);
  const [, whole, fraction] = match as unknown as [string, string, string];
  const left = i64(i64(BigInt(whole), "decimal") * 10000n, "decimal");
  if (fraction.length > 4) fail(`too many digits after the decimal in \`${text}\``);
  const right = i64(BigInt(fraction) * 10n ** BigInt(4 - fraction.length), "decimal");
  const value = i64(whole.startsWith("-") ? left - right : left + right, "decimal");
  return new ExtensionValue("decimal", value);
}

// ---------------------------------------------------------------- datetime and duration

const DAY_MS = 86_400_000n;

/** Days from 1970-01-01 to a proleptic Gregorian date. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Cedar's `datetime(…)`: `YYYY-MM-DD`, optionally `Thh:mm:ss` then `Z`, `.SSSZ`, `±hhmm` or
 * `.SSS±hhmm`; milliseconds since the Unix epoch, leap seconds refused.
 */
export function parseDatetime(text: string): ExtensionValue {
  const date = /^([0-9]{4})-([0-9]{2})-([0-9]{2})/.exec(text);
  if (date === null) fail("invalid date pattern");
  const [dateText, y, mo, d] = date as unknown as [string, string, string, string];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const checkDate = () => {
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
      fail(`invalid date: ${dateText}`);
  };
  let ms = daysFromCivil(year, month, day) * 86_400_000;
  if (dateText.length === text.length) {
    checkDate();
    return new ExtensionValue("datetime", BigInt(ms));
  }
  const rest = text.slice(dateText.length);
  const hms = /^T([0-9]{2}):([0-9]{2}):([0-9]{2})/.exec(rest);
  if (hms === null) fail("invalid hour/minute/second pattern");
  const [hmsText, h, m, s] = hms as unknown as [string, string, string, string];
  const tail = /^(\.([0-9]{3}))?(Z|((\+|-)([0-9]{2})([0-9]{2})))$/.exec(rest.slice(hmsText.length));
  if (tail === null) fail("invalid millisecond and/or offset pattern");
  checkDate();
  const hour = Number(h);
  const minute = Number(m);
  const second = Number(s);
  if (hour > 23 || minute > 59 || second > 59)
    fail(`invalid hour/minute/second: ${hmsText.slice(1)}`);
  const millis = tail?.[2] === undefined ? 0 : Number(tail[2]);
  ms += hour * 3_600_000 + minute * 60_000 + second * 1000 + millis;
  if (tail?.[4] !== undefined) {
    const offsetHours = Number(tail[6]);
    const offsetMinutes = Number(tail[7]);
    if (offsetHours >= 24 || offsetMinutes >= 60) fail("invalid offset range");
    const offset = (offsetHours * 3600 + offsetMinutes * 60) * 1000;
    ms -= tail[5] === "+" ? offset : -offset;
  }
  return new ExtensionValue("datetime", BigInt(ms));
}

const DURATION = /^-?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;
const U64_MAX = 2n ** 64n - 1n;

/** Cedar's `duration(…)`: `1d2h3m4s5ms`-style, optionally negative; 64-bit milliseconds. */
export function parseDuration(text: string): ExtensionValue {
  if (text === "" || text === "-") fail("invalid duration pattern");
  const match = DURATION.exec(text);
  if (match === null) fail("invalid duration pattern");
  const number = (index: number): bigint => {
    const digits = (match as RegExpExecArray)[index];
    const value = digits === undefined ? 0n : BigInt(digits);
    if (value > U64_MAX) fail("duration overflows");
    return value;
  };
  const [days, hours, minutes, seconds, millis] = [2, 4, 6, 8, 10].map(number) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  const negative = text.startsWith("-");
  let ms = i64(negative ? -millis : millis, "duration");
  for (const [quantity, unit] of [
    [seconds, 1000n],
    [minutes, 60_000n],
    [hours, 3_600_000n],
    [days, DAY_MS],
  ] as const) {
    const term = i64(i64(quantity, "duration") * unit, "duration");
    ms = i64(negative ? ms - term : ms + term, "duration");
  }
  return new ExtensionValue("duration", ms);
}

// ---------------------------------------------------------------- functions

function typed(value: CedarValue, type: ExtensionType): ExtensionValue {
  if (value instanceof ExtensionValue && value.type === type) return value;
  return fail(`type error: expected ${type}`);
}

function stringArg(value: CedarValue): string {
  if (typeof value === "string") return value;
  return fail("type error: expected a string");
}

type ExtensionFunction = (args: readonly CedarValue[]) => CedarValue;

function unary(body: (value: CedarValue) => CedarValue): ExtensionFunction {
  return (args) => {
    if (args.length !== 1) fail("wrong number of arguments to an extension function");
    return body(args[0] as CedarValue);
  };
}

function binary(body: (left: CedarValue, right: CedarValue) => CedarValue): ExtensionFunction {
  return (args) => {
    if (args.length !== 2) fail("wrong number of arguments to an extension function");
    return body(args[0] as CedarValue, args[1] as CedarValue);
  };
}

const decimalCompare = (test: (a: bigint, b: bigint) => boolean) =>
  binary((a, b) => test(typed(a, "decimal").value, typed(b, "decimal").value));

const durationTo = (unit: bigint) =>
  unary((value) => longOf(typed(value, "duration").value / unit));

/** Cedar's extension functions by name (constructors, and methods with the receiver first). */
export const EXTENSION_FUNCTIONS: ReadonlyMap<string, ExtensionFunction> = new Map<
  string,
  ExtensionFunction
>([
  ["ip", unary((value) => parseIp(stringArg(value)))],
  ["isIpv4", unary((value) => !typed(value, "ipaddr").v6)],
  ["isIpv6", unary((value) => typed(value, "ipaddr").v6)],
  ["isLoopback", unary((value) => isLoopback(typed(value, "ipaddr")))],
  ["isMulticast", unary((value) => isMulticast(typed(value, "ipaddr")))],
  ["isInRange", binary((a, b) => isInRange(typed(a, "ipaddr"), typed(b, "ipaddr")))],
  ["decimal", unary((value) => parseDecimal(stringArg(value)))],
  ["lessThan", decimalCompare((a, b) => a < b)],
  ["lessThanOrEqual", decimalCompare((a, b) => a <= b)],
  ["greaterThan", decimalCompare((a, b) => a > b)],
  ["greaterThanOrEqual", decimalCompare((a, b) => a >= b)],
  ["datetime", unary((value) => parseDatetime(stringArg(value)))],
  ["duration", unary((value) => parseDuration(stringArg(value)))],
  [
    "offset",
    binary(
      (a, b) =>
        new ExtensionValue(
          "datetime",
          i64(typed(a, "datetime").value + typed(b, "duration").value, "offset"),
        ),
    ),
  ],
  [
    "durationSince",
    binary(
      (a, b) =>
        new ExtensionValue(
          "duration",
          i64(typed(a, "datetime").value - typed(b, "datetime").value, "durationSince"),
        ),
    ),
  ],
  [
    "toDate",
    unary((value) => {
      const epoch = typed(value, "datetime").value;
      const rem = ((epoch % DAY_MS) + DAY_MS) % DAY_MS;
      return new ExtensionValue("datetime", i64(epoch - rem, "toDate"));
    }),
  ],
  [
    "toTime",
    unary((value) => {
      const epoch = typed(value, "datetime").value;
      return new ExtensionValue("duration", ((epoch % DAY_MS) + DAY_MS) % DAY_MS);
    }),
  ],
  ["toMilliseconds", durationTo(1n)],
  ["toSeconds", durationTo(1000n)],
  ["toMinutes", durationTo(60_000n)],
  ["toHours", durationTo(3_600_000n)],
  ["toDays", durationTo(DAY_MS)],
]);

/** The functions a `{"__extn": …}` value of Cedar's JSON may name (constructors and `offset`). */
export const JSON_CONSTRUCTORS: ReadonlySet<string> = new Set([
  "ip",
  "decimal",
  "datetime",
  "duration",
  "offset",
]);
