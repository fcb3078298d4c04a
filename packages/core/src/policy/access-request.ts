/**
 * The authorization request, in the OpenID AuthZEN Authorization API 1.0 shape (§5–§8):
 * `subject`, `action`, `resource`, `context`. Every {@link PolicyClient} decides on this one
 * shape, whether the engine is embedded (Cedar) or remote (any AuthZEN PDP).
 */

/** What a tool does, as far as policy cares. Tools may also name their own verb. */
export type ActionKind = "read" | "write" | "delete" | "execute" | (string & {});

/**
 * The acting agent, built only from verified identity (a verified token and the registry),
 * never from anything the model or the tool arguments say (SECURITY.md C30).
 */
export interface AccessSubject {
  readonly type: "agent";
  /** The acting agent's id. */
  readonly id: string;
  readonly properties: {
    readonly owner: string;
    readonly supervision: "autonomous" | "supervised" | "suspended";
    readonly team?: string;
    readonly labels: Readonly<Record<string, string>>;
    /** Scopes of the presented token. */
    readonly scopes: readonly string[];
    /** On whose behalf (the token's `sub`). Equals `id` when nothing is delegated. */
    readonly principal: string;
    readonly principalType: "agent" | "user";
    /** The user principal's groups at its enterprise IdP (Cedar: `principal.principalGroups`). */
    readonly principalGroups?: readonly string[];
    /** Principal first, acting agent last. */
    readonly chain: readonly string[];
    readonly delegated: boolean;
  };
}

/** The action: the tool's action kind (or own verb) as `name`, the tool in `properties`. */
export interface AccessAction {
  readonly name: ActionKind;
  readonly properties: {
    /** The tool's name. */
    readonly tool: string;
    /** The server or toolkit the tool belongs to, when there is one (MCP server identity). */
    readonly server?: string;
  };
}

/**
 * The resource. By default the tool itself (`type: "tool"`, `id`: the tool's name, qualified by
 * its server when it has one); business objects named by the arguments appear in `properties`
 * by type, for example `{ customer: "acme" }`, and as `context.resources`.
 */
export interface AccessResource {
  readonly type: string;
  readonly id: string;
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** The time facts a policy may read, computed in an explicit, configured time zone. */
export interface AccessTime {
  /** ISO 8601 instant (UTC). */
  readonly instant: string;
  /** Seconds since the epoch. */
  readonly epochSeconds: number;
  /** IANA time zone the fields below are computed in, e.g. `Europe/Berlin`. */
  readonly timeZone: string;
  /** Local date `YYYY-MM-DD`. */
  readonly date: string;
  /** Local hour 0–23. */
  readonly hour: number;
  /** Local minute 0–59. */
  readonly minute: number;
  /** Local weekday, 1 (Monday) to 7 (Sunday), ISO 8601. */
  readonly weekday: number;
}

/** The request's context: time, environment, the business resources and the validated arguments. */
export interface AccessContext {
  readonly time: AccessTime;
  /** Deployment environment, e.g. `production`. */
  readonly environment: string;
  /** Business resources named by the arguments, by type (`{ customer: "acme" }`). */
  readonly resources: Readonly<Record<string, string>>;
  /**
   * The arguments after schema validation (SECURITY.md C31): numbers are numbers, not
   * strings. Absent when deciding without arguments (`gate.check`, `tools/list`).
   */
  readonly arguments?: Readonly<Record<string, unknown>>;
  /** Facts the integrator adds (request ids, channel, …). */
  readonly [key: string]: unknown;
}

/** One authorization question. */
export interface AccessRequest {
  readonly subject: AccessSubject;
  readonly action: AccessAction;
  readonly resource: AccessResource;
  readonly context: AccessContext;
}
