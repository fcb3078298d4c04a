import { AgentGateError } from "../errors.js";

/** Options of {@link checkMetadataUrl}. */
export interface MetadataUrlOptions {
  /**
   * Accepts `http:` and loopback, private and link-local addresses too. For tests and local
   * development only: a server that can make AgentGate fetch from inside the network is a
   * server-side request forgery (SECURITY.md I67). Default `false`.
   */
  readonly allowInsecureMetadataUrls?: boolean;
}

/**
 * Vets a URL that AgentGate is about to fetch metadata or keys from (a JWKS, authorization or
 * resource metadata), before any request is made (SECURITY.md I67). Refuses, with
 * `invalid_configuration` and `details.check: "metadata_url"`:
 * - anything but `https:`, and URLs with user info;
 * - `localhost`, `*.localhost`, `*.local`, `*.internal` and single-label host names;
 * - IP literals in loopback, private (RFC 1918, RFC 4193), link-local, CGNAT, "this network",
 *   benchmarking, multicast or reserved ranges, also written as IPv4-mapped IPv6 or in the
 *   decimal, octal or hex forms the URL parser normalises.
 *
 * Names are checked as written: a public name that resolves to a private address is for the
 * fetch itself to refuse (pin the resolved address, or fetch through an egress proxy).
 *
 * @example
 * ```ts
 * checkMetadataUrl("https://issuer.acme.example/.well-known/jwks.json"); // URL
 * checkMetadataUrl("http://169.254.169.254/latest/meta-data/");         // throws
 * ```
 */
export function checkMetadataUrl(url: string | URL, options: MetadataUrlOptions = {}): URL {
  const problem = metadataUrlProblem(url, options);
  if (typeof problem === "string") {
    throw new AgentGateError("invalid_configuration", `Refused metadata URL: ${problem}.`, {
      details: { check: "metadata_url" },
    });
  }
  return problem;
}

function metadataUrlProblem(input: string | URL, options: MetadataUrlOptions): string | URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    return "not a URL";
  }
  if (url.username !== "" || url.password !== "") return "user info in the URL";
  const insecure = options.allowInsecureMetadataUrls === true;
  if (url.protocol !== "https:" && !(insecure && url.protocol === "http:")) {
    return "only https URLs are fetched";
  }
  if (insecure) return url;
  const host = url.hostname.toLowerCase();
  if (host.startsWith("[")) {
    return isPublicIpv6(host.slice(1, -1)) ? url : "a loopback, private or link-local address";
  }
  const ipv4 = parseIpv4(host);
  if (ipv4 !== undefined) {
    return isPublicIpv4(ipv4) ? url : "a loopback, private or link-local address";
  }
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (
    !name.includes(".") ||
    name === "localhost" ||
    [".localhost", ".local", ".internal", ".home.arpa"].some((suffix) => name.endsWith(suffix))
  ) {
    return "a local host name";
  }
  return url;
}

/** The four octets of a dotted-quad address (the URL parser has normalised other forms). */
function parseIpv4(host: string): number[] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (match === null) return undefined;
  const octets = match.slice(1).map(Number);
  return octets.every((octet) => octet <= 255) ? octets : undefined;
}

/** False for "this network", private, loopback, CGNAT, link-local, benchmarking, multicast and reserved. */
function isPublicIpv4([a, b]: number[]): boolean {
  const first = a as number;
  const second = b as number;
  if (first === 0 || first === 10 || first === 127 || first >= 224) return false;
  if (first === 100 && second >= 64 && second <= 127) return false; // CGNAT, RFC 6598
  if (first === 169 && second === 254) return false; // link-local, cloud metadata
  if (first === 172 && second >= 16 && second <= 31) return false;
  if (first === 192 && (second === 168 || second === 0)) return false;
  if (first === 198 && (second === 18 || second === 19)) return false; // benchmarking
  return true;
}

function isPublicIpv6(literal: string): boolean {
  const groups = expandIpv6(literal);
  if (groups === undefined) return false;
  const [g0, , , , , g5, g6, g7] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (groups.slice(0, 7).every((group) => group === 0) && (g7 === 0 || g7 === 1)) return false;
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms carry an IPv4 address.
  if (groups.slice(0, 5).every((group) => group === 0) && (g5 === 0xffff || g5 === 0)) {
    return isPublicIpv4([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]);
  }
  if ((g0 & 0xfe00) === 0xfc00) return false; // unique local, RFC 4193
  if ((g0 & 0xffc0) === 0xfe80) return false; // link-local
  if ((g0 & 0xff00) === 0xff00) return false; // multicast
  if (g0 === 0x64 && groups[1] === 0xff9b) return false; // NAT64 of any IPv4 address
  return true;
}

/** The eight 16-bit groups of an IPv6 literal as the URL parser writes it (no IPv4 tail). */
function expandIpv6(literal: string): number[] | undefined {
  const halves = literal.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) =>
    part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16));
  const head = parse(halves[0] as string);
  const tail = halves.length === 2 ? parse(halves[1] as string) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff)
    ? groups
    : undefined;
}
