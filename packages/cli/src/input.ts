import {
  AgentId,
  isSigningAlgorithm,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from "@agentgate/core";
import { InvalidArgumentError } from "commander";
import { CliUsageError } from "./usage-error.js";

// Every value the user types is checked here, when it is given: a typo must be exit 2 naming the
// flag, never a trust domain, an agent or a query that silently means something else.

/** An IANA time zone (`Europe/Berlin`), as `Intl` knows it. Commander option parser. */
export function timeZone(value: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
  } catch {
    throw new InvalidArgumentError("not an IANA time zone; e.g. UTC or Europe/Berlin.");
  }
  return value;
}

/** An absolute http(s) URL, as token audiences are. Commander option parser. */
export function audienceUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("not a URL; e.g. https://tools.acme.example.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new InvalidArgumentError("must be an http(s) URL; e.g. https://tools.acme.example.");
  }
  return value;
}

/** A signing algorithm (`RS256`, `ES256` or `EdDSA`). Commander option parser. */
export function signingAlgorithm(value: string): SigningAlgorithm {
  if (!isSigningAlgorithm(value)) {
    throw new InvalidArgumentError(`must be one of ${SIGNING_ALGORITHMS.join(", ")}.`);
  }
  return value;
}

/**
 * The public base URL of `agentgate serve`, which becomes the issuer when https: an absolute
 * http(s) URL without query, fragment or trailing slash (clouds compare `iss` byte for byte).
 * Commander option parser.
 */
export function publicUrl(value: string): string {
  audienceUrl(value);
  const url = new URL(value);
  if (url.search !== "" || url.hash !== "" || value.endsWith("/") || url.username !== "") {
    throw new InvalidArgumentError(
      "must be a base URL without trailing slash, query or fragment; e.g. https://agents.acme.example.",
    );
  }
  return value;
}

/** A trust domain (`acme.example`): lowercase DNS-like, as agent ids need. Commander option parser. */
export function trustDomain(value: string): string {
  if (AgentId.tryParse(`spiffe://${value}/agent/x`)?.trustDomain !== value) {
    throw new InvalidArgumentError(
      "not a trust domain: lowercase letters, digits, dots and dashes; e.g. acme.example.",
    );
  }
  return value;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * An ISO 8601 date (`2026-01-05`, midnight UTC) or instant with its offset
 * (`2026-01-05T09:00:00Z`), returned as an ISO instant. Commander option parser.
 */
export function instant(value: string): string {
  const time = DATE_ONLY.test(value) || DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new InvalidArgumentError(
      "not an ISO 8601 date or instant; e.g. 2026-01-05 or 2026-01-05T09:00:00Z.",
    );
  }
  return new Date(time).toISOString();
}

/** A whole number ≥ 1. Commander option parser. */
export function positiveInteger(value: string): number {
  const number = /^\d+$/.test(value) ? Number.parseInt(value, 10) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError("must be a whole number of at least 1.");
  }
  return number;
}

/**
 * An agent id given as `what` (an argument or a flag); with `domain`, it must belong to that
 * trust domain, as every agent a directory registers does.
 */
export function agentId(what: string, value: string, domain?: string): AgentId {
  let id: AgentId;
  try {
    id = AgentId.parse(value);
  } catch (error) {
    const problem = error instanceof Error ? error.message.replace(/\.$/, "") : "invalid";
    throw new CliUsageError(
      `${what} ${value}: not an agent id (${problem}); expected spiffe://<trust-domain>/agent/<name>, e.g. spiffe://${domain ?? "acme.example"}/agent/support.`,
    );
  }
  if (domain !== undefined && id.trustDomain !== domain) {
    throw new CliUsageError(
      `${what} ${value}: the agent is in trust domain ${id.trustDomain}, this directory's is ${domain}; e.g. spiffe://${domain}/agent/${id.name}.`,
    );
  }
  return id;
}
