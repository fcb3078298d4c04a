import { AgentGateError } from "../errors.js";

/** The longest agent id accepted, in characters (SPIFFE allows 2048; agent names need far less). */
export const MAX_AGENT_ID_LENGTH = 512;
const MAX_TRUST_DOMAIN_LENGTH = 255;

// Deliberately narrower than SPIFFE: lowercase ASCII only, in the trust domain and in the path,
// so that case variants, homoglyphs, zero-width characters and percent-encodings can never name
// a second, different-looking agent that matches the same rules (SECURITY.md G55).
const TRUST_DOMAIN = /^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/;
const SEGMENT = /^[a-z0-9_-][a-z0-9._-]*$/;
const PREFIX = "spiffe://";
const AGENT_SEGMENT = "agent";
const PARSED_CACHE_SIZE = 10_000;
const parsedIds = new Map<string, AgentId>();

/**
 * A verified-format agent identifier: the SPIFFE-style URI `spiffe://<trust-domain>/agent/<name>`,
 * where `<name>` is one or more `/`-separated segments.
 *
 * Parse untrusted text with {@link AgentId.parse}; compare ids with {@link AgentId.equals} or by
 * their canonical string, never loosely.
 *
 * @example
 * ```ts
 * const id = AgentId.parse("spiffe://acme.example/agent/support-bot");
 * id.trustDomain; // "acme.example"
 * id.name;        // "support-bot"
 * ```
 */
export class AgentId {
  readonly #uri: string;

  private constructor(
    /** The trust domain, e.g. `acme.example`. */
    readonly trustDomain: string,
    /** The agent's name within the trust domain, e.g. `support-bot` or `ops/deployer`. */
    readonly name: string,
  ) {
    this.#uri = `${PREFIX}${trustDomain}/${AGENT_SEGMENT}/${name}`;
    // Shared by every verified identity that names this agent: nobody may change it.
    Object.freeze(this);
  }

  /**
   * Parses and validates an agent id. Throws `AgentGateError` with code `invalid_agent_id` for
   * anything that is not exactly canonical: uppercase, dot or empty segments, `%`, query,
   * fragment, port, user info, non-ASCII or over-long input.
   */
  static parse(value: string): AgentId {
    const parsed = AgentId.tryParse(value);
    if (parsed === undefined) {
      throw new AgentGateError("invalid_agent_id", `Invalid agent id: ${agentIdProblem(value)}.`);
    }
    return parsed;
  }

  /** Like {@link AgentId.parse}, but returns `undefined` instead of throwing. */
  static tryParse(value: string): AgentId | undefined {
    const known = parsedIds.get(value);
    if (known !== undefined) return known;
    if (agentIdProblem(value) !== undefined) return undefined;
    const rest = value.slice(PREFIX.length);
    const slash = rest.indexOf("/");
    const id = new AgentId(rest.slice(0, slash), rest.slice(slash + 1 + AGENT_SEGMENT.length + 1));
    // Ids are immutable, so parsed ones are kept (bounded) for the verification hot path.
    if (parsedIds.size >= PARSED_CACHE_SIZE) parsedIds.clear();
    parsedIds.set(value, id);
    return id;
  }

  /** Builds the id of agent `name` in `trustDomain`, validating both. */
  static of(trustDomain: string, name: string): AgentId {
    return AgentId.parse(`${PREFIX}${trustDomain}/${AGENT_SEGMENT}/${name}`);
  }

  /** True when `value` is a canonical agent id string. */
  static isValid(value: unknown): value is string {
    return typeof value === "string" && AgentId.tryParse(value) !== undefined;
  }

  /** The canonical URI. */
  toString(): string {
    return this.#uri;
  }

  toJSON(): string {
    return this.toString();
  }

  /** Exact equality of two ids. */
  equals(other: AgentId | string): boolean {
    return this.toString() === other.toString();
  }
}

/** Says what is wrong with `value` as an agent id, or `undefined` when it is valid. */
function agentIdProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return "not a string";
  if (value.length > MAX_AGENT_ID_LENGTH) return `longer than ${MAX_AGENT_ID_LENGTH} characters`;
  if (!value.startsWith(PREFIX)) return `it must start with "${PREFIX}"`;
  const rest = value.slice(PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash < 0) return "no path";
  const trustDomain = rest.slice(0, slash);
  if (trustDomain.length === 0) return "empty trust domain";
  if (trustDomain.length > MAX_TRUST_DOMAIN_LENGTH) return "trust domain too long";
  if (!TRUST_DOMAIN.test(trustDomain)) {
    return "the trust domain may hold only lowercase letters, digits, '.', '-' and '_'";
  }
  const segments = rest.slice(slash + 1).split("/");
  if (segments[0] !== AGENT_SEGMENT) return `the path must start with "/${AGENT_SEGMENT}/"`;
  if (segments.length < 2) return "no agent name";
  for (const segment of segments.slice(1)) {
    if (segment.length === 0) return "empty path segment";
    if (segment === "." || segment === "..") return "dot path segment";
    if (!SEGMENT.test(segment)) {
      return "path segments may hold only lowercase letters, digits, '.', '-' and '_'";
    }
  }
  return undefined;
}
