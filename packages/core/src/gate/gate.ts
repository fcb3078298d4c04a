import type { AuditEvent } from "../audit/audit-event.js";
import type { AuditSink } from "../audit/audit-sink.js";
import { createRedactor, type Redactor } from "../audit/redaction.js";
import { type Clock, systemClock } from "../clock.js";
import { AgentGateError, type AgentGateErrorCode, isAgentGateError } from "../errors.js";
import type { AgentRecord } from "../identity/agent-record.js";
import type { AgentRegistry } from "../identity/agent-registry.js";
import type { IssuedToken, VerifiedAgent } from "../identity/agent-token.js";
import type { Authority, DelegateOptions } from "../identity/authority.js";
import { type JwtSvidBundle, jwtSvidBundleFor, verifyJwtSvid } from "../identity/jwt-svid.js";
import type { TokenVerifier } from "../identity/token-verifier.js";
import { type UsableAgentToken, verifyAgentToken } from "../identity/verify-agent-token.js";
import { boundedCopy, type CopyBounds, deepFreeze } from "../internal/bounded-copy.js";
import { withDeadline } from "../internal/deadline.js";
import { randomId } from "../internal/random-id.js";
import type { AccessRequest, ActionKind } from "../policy/access-request.js";
import { type Decision, isKnownObligation } from "../policy/decision.js";
import type { PolicyClient } from "../policy/policy-client.js";
import { accessTime, buildAccessRequest } from "../policy/request-mapping.js";
import type { ToolDescriptor } from "../policy/tool-descriptor.js";
import { checkToolNames } from "../policy/tool-name.js";
import { currentAgent, runWithInvocation } from "./agent-context.js";
import {
  type ApprovalAnswer,
  type ApprovalProvider,
  type ApprovalReason,
  isApprovalSuspended,
} from "./approval.js";
import {
  type CertificateAuthenticator,
  type CertificateCredential,
  isCertificateCredential,
} from "./certificate-credential.js";
import {
  baseEvent,
  type CallFacts,
  decisionBlock,
  outcomeEvent,
  tokenFingerprint,
} from "./gate-events.js";
import type { InvocationContext, ToolInvocation } from "./tool-invocation.js";

/** Options of a {@link Gate}. Every port is explicit; `createGate` in `@agentgate/core/node` fills them from a directory. */
export interface GateOptions {
  /** This service's token audience. */
  readonly audience: string;
  /** Verifies the presented agent tokens. */
  readonly verifier: TokenVerifier;
  /** Accepts mTLS client certificates as credentials (`x509CertificateAuthenticator`). */
  readonly certificates?: CertificateAuthenticator;
  /**
   * SPIFFE trust bundles (`JwtSvidBundle.fromJwks`, from a SPIRE server's bundle endpoint)
   * whose JWT-SVIDs the gate accepts as call credentials besides AgentGate tokens, whichever
   * adapter brought the call: verified against the bundle of the SVID's trust domain (`verifyJwtSvid`: ES256, ES384
   * or RS256, a `kid` of the bundle, `aud` this gate's audience alone, `exp`), then the same
   * registry, revocation (the verifier's list), supervision and proof-of-possession checks as a
   * token (SECURITY.md P132–P135). Audit events say `details.credential: "jwt-svid"`. Default:
   * none, and a JWT-SVID is refused like any foreign token.
   */
  readonly spiffeBundles?: readonly JwtSvidBundle[];
  /**
   * Refuse bearer-only tokens: every call must prove possession of a key (a DPoP-bound or
   * call-proof-bound token, `cnf.jkt`), of a certificate (a certificate-bound token over mTLS,
   * `cnf.x5t#S256`), or come over mTLS as a certificate credential. A plain bearer token is
   * `token_invalid` with `details.check: "proof_of_possession"` (SECURITY.md M107), on every
   * adapter path. Default `false`: bound tokens still need their proof, bearer tokens pass.
   */
  readonly requireProofOfPossession?: boolean;
  /** Authoritative agent records: supervision and expiry are checked on every call. */
  readonly registry: AgentRegistry;
  /** Decides each call; any failure denies. */
  readonly policy: PolicyClient;
  /** Where every decision and outcome is written before the call goes on. */
  readonly audit: AuditSink;
  /** Enables {@link Gate.delegate}. */
  readonly authority?: Authority;
  /** Asked when a decision requires approval or a supervised agent takes a risky action. */
  readonly approvals?: ApprovalProvider;
  /** Time source for events and the policy context. Default: the system clock. */
  readonly clock?: Clock;
  /** IANA time zone for the policy context's local time. Default `UTC`. */
  readonly timeZone?: string;
  /** Default `development`. */
  readonly environment?: string;
  /** Redacts arguments before they reach the audit log or an approver. Default: built-in rules. */
  readonly redactor?: Redactor;
  /** How long a decision may take before the call is denied (`policy_unavailable`). Default 2,000 ms. */
  readonly decisionTimeoutMs?: number;
  /**
   * How long an audit write may take (SECURITY.md K84). A `decision` or `approval` event not
   * acknowledged by then denies the call (`audit_unavailable`) and the tool does not run; a late
   * `outcome` event is reported through `onAuditError`. A sink that never answers thus never
   * hangs a call. Default 2,000 ms.
   */
  readonly auditTimeoutMs?: number;
  /** How long an approval may take before the call is denied (`approval_denied`). Default 120,000 ms. */
  readonly approvalTimeoutMs?: number;
  /** Action kinds a `supervised` agent needs approval for. Default `["write", "delete"]`. */
  readonly supervisedApprovalKinds?: readonly ActionKind[];
  /** Bounds on argument size and shape (SECURITY.md G54). */
  readonly argumentBounds?: Partial<CopyBounds>;
  /** Makes invocation and event ids. Default: 128 random bits in hex. */
  readonly createId?: () => string;
  /**
   * Told about failures that cannot change a call's result any more: an `outcome` event that
   * could not be written after the tool ran, or a denial whose event could not be written.
   * Default: `console.error`. The sink itself stays failed, so the next call is denied.
   */
  readonly onAuditError?: (error: AgentGateError, event: AuditEvent) => void;
}

/** The answer of {@link Gate.check}. */
export interface CheckResult {
  /** Links the `check` event with a later {@link Gate.recordOutcome}. */
  readonly invocationId: string;
  readonly allowed: boolean;
  /** The denial's code when not allowed. */
  readonly code?: AgentGateErrorCode;
  /** Safe to show to a model. */
  readonly safeReason: string;
  /** The call would wait for a human. */
  readonly requiresApproval: boolean;
  readonly decision?: Decision;
}

interface Authorized {
  readonly agent: VerifiedAgent;
  readonly record: AgentRecord;
  readonly request: AccessRequest;
  readonly decision: Decision;
  readonly arguments: Readonly<Record<string, unknown>>;
  readonly redacted: unknown;
  readonly approval: ApprovalReason | undefined;
}

type MutableFacts = { -readonly [K in keyof CallFacts]: CallFacts[K] };

const DEFAULT_BOUNDS: CopyBounds = { maxDepth: 32, maxNodes: 10_000, maxChars: 1_048_576 };

/**
 * The one enforcement point around every tool call (the PEP). Each call is authenticated,
 * checked against revocation and supervision for every agent in its chain, its arguments
 * validated, decided by the policy client, approved when required, recorded in the audit log
 * before it runs, run with the verified identity in async context, and recorded again with its
 * outcome. Any failure before the run denies: the tool never runs after a denial (fail closed).
 *
 * @example
 * ```ts
 * const result = await gate.invoke(
 *   { tool: { name: "crm_lookup", action: "read", resources: { customer: "customerId" } },
 *     arguments: { customerId: "acme" }, credential: credentials },
 *   (args) => crm.lookup(args.customerId),
 * );
 * ```
 */
export class Gate {
  readonly #options: GateOptions;
  readonly #clock: Clock;
  readonly #timeZone: string;
  readonly #redact: Redactor;
  readonly #createId: () => string;
  readonly #bounds: CopyBounds;
  readonly #auditTimeoutMs: number;

  constructor(options: GateOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#timeZone = options.timeZone ?? "UTC";
    try {
      accessTime(0, this.#timeZone);
    } catch {
      throw new AgentGateError("invalid_configuration", `Unknown time zone "${this.#timeZone}".`);
    }
    if (typeof options.audience !== "string" || options.audience.length === 0) {
      throw new AgentGateError("invalid_configuration", "The gate needs an audience.");
    }
    for (const port of ["verifier", "registry", "policy", "audit"] as const) {
      if (options[port] === undefined) {
        throw new AgentGateError("invalid_configuration", `The gate needs a ${port}.`);
      }
    }
    this.#auditTimeoutMs = options.auditTimeoutMs ?? 2000;
    if (!(this.#auditTimeoutMs > 0)) {
      throw new AgentGateError("invalid_configuration", "auditTimeoutMs must be positive.");
    }
    this.#redact = options.redactor ?? createRedactor();
    this.#createId = options.createId ?? randomId;
    this.#bounds = { ...DEFAULT_BOUNDS, ...options.argumentBounds };
  }

  /** The token audience this gate accepts. */
  get audience(): string {
    return this.#options.audience;
  }

  /** Where this gate's audit events go (adapters add their own events, such as `tool_changed`). */
  get audit(): AuditSink {
    return this.#options.audit;
  }

  /** The authority the gate delegates with, when it was given one. */
  get authority(): Authority | undefined {
    return this.#options.authority;
  }

  /** The agent registry the gate checks. */
  get registry(): AgentRegistry {
    return this.#options.registry;
  }

  /**
   * Runs `run` with the validated, frozen arguments if and only if the call is allowed, and
   * returns its result. Rejects with an `AgentGateError` on any denial (`token_*`, `agent_*`,
   * `delegation_invalid`, `invalid_arguments`, `access_denied`, `policy_unavailable`,
   * `approval_denied`, `audit_unavailable`), after writing a denied `decision` event; the tool
   * has not run. Errors thrown by `run` itself are recorded in the `outcome` event and rethrown
   * unchanged.
   */
  async invoke<Result>(
    invocation: ToolInvocation,
    run: (
      args: Readonly<Record<string, unknown>>,
      context: InvocationContext,
    ) => Result | Promise<Result>,
  ): Promise<Awaited<Result>> {
    const invocationId = this.#createId();
    const facts: MutableFacts = { invocationId, invocation };
    let authorized: Authorized;
    try {
      authorized = await this.#authorize(invocation, facts, true);
      if (authorized.approval !== undefined)
        await this.#approve(authorized, facts, authorized.approval);
      const event = baseEvent("decision", this.#createId(), this.#clock.now(), facts);
      event.decision = decisionBlock(authorized.decision, true, authorized.decision.reason);
      await this.#write(event);
    } catch (error) {
      if (isApprovalSuspended(error)) throw error;
      throw await this.#deny(error, facts);
    }

    const started = this.#clock.now();
    const context: InvocationContext = {
      invocationId,
      agent: authorized.agent,
      tool: invocation.tool,
    };
    let outcome: NonNullable<AuditEvent["outcome"]>;
    try {
      const result = await runWithInvocation(context, () => run(authorized.arguments, context));
      outcome = { status: "succeeded", durationMs: this.#clock.now() - started };
      await this.#recordOutcome(facts, outcome);
      return result;
    } catch (error) {
      outcome = {
        status: "failed",
        durationMs: this.#clock.now() - started,
        ...(isAgentGateError(error) ? { errorCode: error.code } : {}),
        error: this.#describeError(error),
      };
      await this.#recordOutcome(facts, outcome);
      throw error;
    }
  }

  /**
   * The decision for a call without running anything: for UIs, dry runs and `tools/list`
   * filtering. Arguments are optional (without them, argument-based conditions see none).
   * Writes a `check` event. Resolves with the answer; never runs an approval.
   */
  async check(
    invocation: Omit<ToolInvocation, "arguments"> & { arguments?: unknown },
  ): Promise<CheckResult> {
    const facts: MutableFacts = {
      invocationId: this.#createId(),
      invocation: { ...invocation, arguments: invocation.arguments },
    };
    let result: CheckResult;
    try {
      const authorized = await this.#authorize(
        facts.invocation,
        facts,
        invocation.arguments !== undefined,
      );
      result = {
        invocationId: facts.invocationId,
        allowed: true,
        safeReason: authorized.decision.safeReason,
        requiresApproval: authorized.approval !== undefined,
        decision: authorized.decision,
      };
    } catch (error) {
      const denial = toDenial(error);
      result = {
        invocationId: facts.invocationId,
        allowed: false,
        code: denial.code,
        safeReason: denial.safeMessage,
        requiresApproval: false,
        ...(denial.details?.decision === undefined
          ? {}
          : { decision: denial.details.decision as Decision }),
      };
    }
    const event = baseEvent("check", this.#createId(), this.#clock.now(), facts);
    event.decision = decisionBlock(
      result.decision,
      result.allowed,
      result.decision?.reason ?? result.safeReason,
      result.code,
    );
    await this.#write(event);
    return result;
  }

  /**
   * Records the outcome of a call the gate did not run itself, observed after a
   * {@link Gate.check} (for example by a LangChain callback handler). Rejects with
   * `audit_unavailable` when the event cannot be written.
   */
  async recordOutcome(
    check: Pick<CheckResult, "invocationId">,
    tool: ToolDescriptor,
    outcome: {
      readonly status: "succeeded" | "failed";
      readonly durationMs: number;
      readonly error?: unknown;
    },
  ): Promise<void> {
    const facts: CallFacts = {
      invocationId: check.invocationId,
      invocation: { tool, arguments: undefined, credential: "" },
    };
    await this.#write({
      ...baseEvent("outcome", this.#createId(), this.#clock.now(), facts),
      outcome: {
        status: outcome.status,
        durationMs: Math.max(0, outcome.durationMs),
        ...(outcome.error === undefined ? {} : { error: this.#describeError(outcome.error) }),
        ...(isAgentGateError(outcome.error) ? { errorCode: outcome.error.code } : {}),
      },
    });
  }

  /**
   * Records a call an adapter refuses before it can reach {@link Gate.invoke} (SECURITY.md
   * K85): a framework's own schema check that rejected the arguments, a tool name the adapter
   * does not know. The gate authenticates the credential to name the caller and writes a denied
   * `decision` event with `error`'s code and reason (or the authentication failure's, which
   * comes first, as in `invoke`). Resolves with the denial for the adapter to report; never runs
   * anything, and a failing sink is reported through `onAuditError`, never thrown.
   *
   * @example
   * ```ts
   * if (!known.has(name)) throw await gate.refuse(
   *   { tool: { name }, arguments: args, credential },
   *   new AgentGateError("access_denied", `Unknown tool ${name}.`),
   * );
   * ```
   */
  async refuse(
    invocation: Omit<ToolInvocation, "arguments"> & { arguments?: unknown },
    error: AgentGateError,
  ): Promise<AgentGateError> {
    const facts: MutableFacts = {
      invocationId: this.#createId(),
      invocation: { ...invocation, arguments: invocation.arguments },
    };
    let denial: unknown = error;
    try {
      if (isCertificateCredential(facts.invocation.credential)) {
        // Names the caller (facts.agent) for the denial; the denial stands either way.
        await this.#authenticateCertificate(facts.invocation.credential, facts);
        return this.#denyWithArguments(denial, facts, invocation.arguments);
      }
      const credential = credentialOf(facts.invocation);
      const token = typeof credential === "string" ? credential : await credential;
      try {
        const bundle = this.#jwtSvidBundle(token);
        if (bundle === undefined) {
          facts.agent = await this.#options.verifier.verify(token, {
            audience: this.#options.audience,
          });
        } else {
          try {
            await verifyJwtSvid(token, {
              bundle,
              registry: this.#options.registry,
              audience: this.#options.audience,
              revocations: this.#options.verifier.revocations,
              clock: this.#clock,
              onVerified: (verified) => {
                facts.agent = verified;
              },
            });
          } catch (svidError) {
            // Named the caller: the registry's answer does not replace the denial (as for a token).
            if (facts.agent === undefined) throw svidError;
          }
        }
      } catch (authError) {
        facts.tokenFingerprint =
          typeof token === "string" ? await tokenFingerprint(token) : undefined;
        throw authError;
      }
    } catch (authError) {
      denial = authError;
    }
    return this.#denyWithArguments(denial, facts, invocation.arguments);
  }

  #denyWithArguments(denial: unknown, facts: MutableFacts, args: unknown): Promise<AgentGateError> {
    const copy = boundedCopy(args ?? {}, this.#bounds);
    if (copy.ok) facts.arguments = this.#redact(copy.value);
    return this.#deny(denial, facts);
  }

  /**
   * Mints a delegated token for a downstream call (another agent, an HTTP API) from inside a
   * running tool: the current agent's identity, attenuated (RFC 8693 `act`). Needs the gate's
   * `authority`; throws `invalid_configuration` otherwise or outside a gated call.
   */
  async delegate(options: DelegateOptions): Promise<IssuedToken> {
    const authority = this.#options.authority;
    if (authority === undefined) {
      throw new AgentGateError(
        "invalid_configuration",
        "gate.delegate() needs the gate's authority option.",
      );
    }
    return authority.delegate(currentAgent(), options);
  }

  /** Flushes and closes the audit sink and the policy client. */
  async close(): Promise<void> {
    await this.#options.audit.close();
    await this.#options.policy.close?.();
  }

  /** The configured bundle `token` is a JWT-SVID of, if any (throws for an unknown trust domain). */
  #jwtSvidBundle(token: string): JwtSvidBundle | undefined {
    const bundles = this.#options.spiffeBundles;
    return bundles === undefined || bundles.length === 0
      ? undefined
      : jwtSvidBundleFor(token, bundles);
  }

  #authenticateCertificate(
    credential: CertificateCredential,
    facts: MutableFacts,
  ): Promise<UsableAgentToken> {
    const certificates = this.#options.certificates;
    if (certificates === undefined) {
      return Promise.reject(
        new AgentGateError("token_invalid", "This gate accepts no client certificates."),
      );
    }
    return certificates.authenticate(credential.certificateChain, {
      audience: this.#options.audience,
      onVerified: (verified) => {
        facts.agent = verified;
      },
    });
  }

  async #authorize(
    invocation: ToolInvocation,
    facts: MutableFacts,
    withArguments: boolean,
  ): Promise<Authorized> {
    // 1. Authenticate.
    let agent: VerifiedAgent;
    let record: AgentRecord;
    let scopes: readonly string[];
    if (isCertificateCredential(invocation.credential)) {
      // An mTLS peer: the same registry check as a token's, through the configured port.
      ({ agent, record, scopes } = await this.#authenticateCertificate(
        invocation.credential,
        facts,
      ));
    } else {
      const credential = credentialOf(invocation);
      const token = typeof credential === "string" ? credential : await credential;
      // 2. Status of every agent in the chain, from the registry (B22, D37): the same function
      // answers `agentgate token verify` (L90).
      try {
        ({ agent, record, scopes } = await verifyAgentToken(token, {
          verifier: this.#options.verifier,
          registry: this.#options.registry,
          audience: this.#options.audience,
          clock: this.#clock,
          onVerified: (verified) => {
            facts.agent = verified;
          },
          ...(this.#options.spiffeBundles === undefined
            ? {}
            : {
                spiffeBundles: this.#options.spiffeBundles,
                revocations: this.#options.verifier.revocations,
              }),
        }));
      } catch (error) {
        if (facts.agent === undefined)
          facts.tokenFingerprint =
            typeof token === "string" ? await tokenFingerprint(token) : undefined;
        throw error;
      }
      checkPossession(agent, invocation, this.#options.requireProofOfPossession === true);
    }
    facts.owner = record.owner;

    // 3. The tool's name and server in their canonical form only, whichever adapter brought
    // them: `drop_db\u200b` must never reach a policy that forbids `drop_db` (L88).
    checkToolNames(invocation.tool, "received");

    // 4. Arguments: bounded copy, schema, frozen (G52–G54, I64).
    let args: Readonly<Record<string, unknown>> | undefined;
    if (withArguments) {
      const validated = this.#validate(invocation.tool, invocation.arguments);
      args = validated instanceof Promise ? await validated : validated;
    }

    // 5. Decide.
    const request = buildAccessRequest({
      agent,
      record,
      scopes,
      tool: invocation.tool,
      arguments: args,
      time: accessTime(this.#clock.now(), this.#timeZone),
      environment: this.#options.environment ?? "development",
      ...(invocation.context === undefined ? {} : { context: invocation.context }),
    });
    facts.request = request;
    const decision = await this.#decide(request, invocation.signal);
    const redactPaths = decision.obligations
      .filter((obligation) => obligation.startsWith("redact:"))
      .map((obligation) => obligation.slice("redact:".length));
    facts.arguments = args === undefined ? undefined : this.#redact(args, redactPaths);
    if (!decision.allowed) {
      throw new AgentGateError("access_denied", decision.reason, {
        safeMessage: decision.safeReason,
        details: { decision },
      });
    }
    const unknown = decision.obligations.filter((obligation) => !isKnownObligation(obligation));
    if (unknown.length > 0) {
      // An obligation the gate cannot honour must not be ignored: deny.
      throw new AgentGateError("access_denied", `Unknown obligation(s): ${unknown.join(", ")}.`, {
        details: { decision },
      });
    }
    const kinds = this.#options.supervisedApprovalKinds ?? ["write", "delete"];
    const approval: ApprovalReason | undefined = decision.obligations.includes("require-approval")
      ? "policy"
      : record.supervision === "supervised" && kinds.includes(request.action.name)
        ? "supervision"
        : undefined;
    return {
      agent,
      record,
      request,
      decision,
      arguments: args ?? {},
      redacted: facts.arguments,
      approval,
    };
  }

  /**
   * Bounded copy, schema, frozen (G52–G54, I64). Synchronous unless the schema validates
   * asynchronously: most do not, and every promise costs on the hot path.
   */
  #validate(
    tool: ToolDescriptor,
    raw: unknown,
  ): Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>> {
    const copy = boundedCopy(raw ?? {}, this.#bounds);
    if (!copy.ok)
      throw new AgentGateError("invalid_arguments", `Invalid arguments: ${copy.reason}.`);
    if (tool.schema === undefined) return validArguments(copy.value);
    let result: SchemaResult | Promise<SchemaResult>;
    try {
      result = tool.schema["~standard"].validate(copy.value);
    } catch (error) {
      throw schemaFailure(error);
    }
    if (typeof (result as Partial<PromiseLike<SchemaResult>>).then !== "function")
      return schemaOutcome(result as SchemaResult);
    return Promise.resolve(result).then(schemaOutcome, (error: unknown) => {
      throw schemaFailure(error);
    });
  }

  #decide(request: AccessRequest, signal: AbortSignal | undefined): Promise<Decision> {
    const timeoutMs = this.#options.decisionTimeoutMs ?? 2000;
    let pending: Promise<Decision>;
    try {
      pending = this.#options.policy.evaluate(request, signal === undefined ? {} : { signal });
    } catch (error) {
      return Promise.reject(policyFailure(error));
    }
    // A decision that arrives after the deadline has already lost (I63).
    return withDeadline(
      pending,
      timeoutMs,
      () => new AgentGateError("policy_unavailable", `No decision within ${timeoutMs} ms.`),
      (decision) => {
        if (!isWellFormed(decision)) {
          throw new AgentGateError(
            "policy_unavailable",
            "The policy client returned a malformed decision.",
          );
        }
        return decision;
      },
      policyFailure,
    );
  }

  async #approve(authorized: Authorized, facts: CallFacts, reason: ApprovalReason): Promise<void> {
    const approvals = this.#options.approvals;
    let answer: ApprovalAnswer = {
      approved: false,
      approver: "none",
      reason: "no approval provider is configured",
    };
    if (approvals !== undefined) {
      const controller = new AbortController();
      const timeoutMs = this.#options.approvalTimeoutMs ?? 120_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const timeout = new Promise<ApprovalAnswer>((resolve) => {
          timer = setTimeout(() => {
            controller.abort();
            resolve({
              approved: false,
              approver: "timeout",
              reason: `no answer within ${timeoutMs} ms`,
            });
          }, timeoutMs);
        });
        const request = {
          invocationId: facts.invocationId,
          reason,
          agent: authorized.agent.agent.toString(),
          principal: authorized.agent.principal.id,
          chain: authorized.agent.chain,
          tool: authorized.request.action.properties.tool,
          action: authorized.request.action.name,
          resource: authorized.request.resource,
          arguments: authorized.redacted,
          decision: authorized.decision,
        };
        const given = await Promise.race([
          approvals.requestApproval(request, { signal: controller.signal }),
          timeout,
        ]);
        answer =
          given?.approved === true && typeof given.approver === "string"
            ? given
            : {
                approved: false,
                approver: String(given?.approver ?? "unknown"),
                reason: given?.reason ?? "not approved",
              };
      } catch (error) {
        if (isApprovalSuspended(error)) throw error;
        answer = { approved: false, approver: "error", reason: this.#describeError(error) };
      } finally {
        clearTimeout(timer);
      }
    }
    const event = baseEvent("approval", this.#createId(), this.#clock.now(), facts);
    await this.#write({
      ...event,
      approval: {
        approved: answer.approved,
        approver: answer.approver.slice(0, 256),
        ...(answer.reason === undefined ? {} : { reason: answer.reason.slice(0, 1024) }),
      },
      details: { ...event.details, approvalReason: reason },
    });
    if (!answer.approved) {
      throw new AgentGateError(
        "approval_denied",
        `Not approved by ${answer.approver}: ${answer.reason ?? "no reason"}.`,
        {
          details: { decision: authorized.decision },
        },
      );
    }
  }

  async #deny(error: unknown, facts: CallFacts): Promise<AgentGateError> {
    const denial = toDenial(error);
    if (denial.code === "audit_unavailable") return denial;
    const decision = denial.details?.decision as Decision | undefined;
    const event = baseEvent("decision", this.#createId(), this.#clock.now(), facts);
    event.decision = decisionBlock(decision, false, denial.message, denial.code);
    try {
      await this.#write(event);
    } catch (auditError) {
      this.#reportAuditError(toDenial(auditError), event);
    }
    return denial;
  }

  /**
   * Writes the `outcome` event. The tool has run: its result stands whatever happens here, so a
   * failure is reported, not thrown, and the sink stays failed, so the next call is denied.
   */
  #recordOutcome(facts: CallFacts, outcome: NonNullable<AuditEvent["outcome"]>): Promise<void> {
    const event = outcomeEvent(this.#createId(), this.#clock.now(), facts, outcome);
    return this.#sinkWrite(event).then(undefined, (error: unknown) =>
      this.#reportAuditError(auditFailure(error), event),
    );
  }

  /** Writes `event`; rejects with `audit_unavailable` on any failure of the sink. */
  #write(event: AuditEvent): Promise<void> {
    return this.#sinkWrite(event).then(undefined, (error: unknown) => {
      throw auditFailure(error);
    });
  }

  /**
   * The sink's own promise, with a synchronous throw turned into a rejection, bounded by the
   * audit deadline (K84): an unanswered write counts as a failed one.
   */
  #sinkWrite(event: AuditEvent): Promise<void> {
    let pending: Promise<void>;
    try {
      pending = Promise.resolve(this.#options.audit.write(event));
    } catch (error) {
      return Promise.reject(error);
    }
    const ms = this.#auditTimeoutMs;
    return withDeadline(
      pending,
      ms,
      () =>
        new AgentGateError(
          "audit_unavailable",
          `The audit sink did not acknowledge the ${event.type} event within ${ms} ms.`,
        ),
    );
  }

  #reportAuditError(error: AgentGateError, event: AuditEvent): void {
    const report =
      this.#options.onAuditError ??
      ((failure: AgentGateError, lost: AuditEvent) => {
        console.error(
          `AgentGate: audit event ${lost.id} (${lost.type}) could not be written: ${failure.message}`,
        );
      });
    report(error, event);
  }

  #describeError(error: unknown): string {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // Redact the whole text first: cutting first could split a token past recognition.
    const redacted = this.#redact({ error: text }) as { error?: unknown };
    return String(redacted.error ?? "").slice(0, 500);
  }
}

/** The presented token: at once for a string, from the provider otherwise. */
function credentialOf(invocation: ToolInvocation): string | Promise<string> {
  const credential = invocation.credential;
  if (typeof credential === "string") return credential;
  if (
    credential !== null &&
    typeof credential === "object" &&
    "token" in credential &&
    typeof credential.token === "function"
  ) {
    return credential.token();
  }
  throw new AgentGateError("token_invalid", "No credential was presented.");
}

type SchemaResult = Awaited<
  ReturnType<NonNullable<ToolDescriptor["schema"]>["~standard"]["validate"]>
>;

function schemaFailure(error: unknown): AgentGateError {
  return new AgentGateError("invalid_arguments", "Invalid arguments: the schema failed.", {
    cause: error,
  });
}

/** The schema's answer: the validated, frozen arguments, or `invalid_arguments` naming the first issue. */
function schemaOutcome(result: SchemaResult): Readonly<Record<string, unknown>> {
  if (result.issues !== undefined) {
    const issue = result.issues[0];
    const path = issue?.path
      ?.map((part) => (typeof part === "object" ? String(part.key) : String(part)))
      .join(".");
    throw new AgentGateError(
      "invalid_arguments",
      `Invalid arguments: ${path ? `${path}: ` : ""}${issue?.message}.`,
      {
        safeMessage:
          `The tool arguments are not valid${path ? ` (${path})` : ""}: ${issue?.message}`.slice(
            0,
            300,
          ),
      },
    );
  }
  return validArguments(result.value);
}

function validArguments(value: unknown): Readonly<Record<string, unknown>> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AgentGateError("invalid_arguments", "Invalid arguments: an object is expected.");
  }
  return deepFreeze(value as Record<string, unknown>);
}

function auditFailure(error: unknown): AgentGateError {
  if (isAgentGateError(error) && error.code === "audit_unavailable") return error;
  return new AgentGateError("audit_unavailable", "The audit sink failed.", { cause: error });
}

/** Any failure of the policy client counts as deny, never as "no opinion" (C28, J73). */
function policyFailure(error: unknown): AgentGateError {
  if (isAgentGateError(error) && error.code === "policy_unavailable") return error;
  return new AgentGateError("policy_unavailable", "The policy client failed.", { cause: error });
}

function isWellFormed(decision: unknown): decision is Decision {
  if (typeof decision !== "object" || decision === null) return false;
  const candidate = decision as Record<string, unknown>;
  return (
    typeof candidate.allowed === "boolean" &&
    Array.isArray(candidate.policies) &&
    Array.isArray(candidate.obligations) &&
    candidate.obligations.every((obligation) => typeof obligation === "string") &&
    typeof candidate.reason === "string" &&
    typeof candidate.safeReason === "string"
  );
}

/** Any failure before the run, as the `AgentGateError` the caller gets. */
function toDenial(error: unknown): AgentGateError {
  if (isAgentGateError(error)) return error;
  return new AgentGateError("access_denied", "The call was denied after an internal error.", {
    cause: error,
  });
}

/**
 * A bound token is no bearer token: only a transport that checked the matching proof may bring
 * it (RFC 9449, RFC 8705; SECURITY.md M104, M108, M110). With `required`, a token bound to
 * nothing is refused as well (M107).
 */
function checkPossession(agent: VerifiedAgent, invocation: ToolInvocation, required: boolean) {
  const cnf = agent.confirmation;
  const proof = invocation.metadata?.proofOfPossession;
  const thumbprint = invocation.metadata?.proofThumbprint;
  if (cnf === undefined) {
    if (required) {
      throw new AgentGateError(
        "token_invalid",
        "This gate requires proof of possession: a bearer token is refused.",
        {
          safeMessage: "This gate requires proof of possession; a bearer token is refused.",
          details: { check: "proof_of_possession" },
        },
      );
    }
    return;
  }
  if (cnf.jkt !== undefined) {
    const proven =
      (proof === "dpop" && (thumbprint === undefined || thumbprint === cnf.jkt)) ||
      (proof === "call" && thumbprint === cnf.jkt);
    if (!proven) {
      throw new AgentGateError(
        "token_invalid",
        "A key-bound token came without a proof from its key.",
        { details: { check: proof === "call" ? "jkt" : "dpop" } },
      );
    }
    return;
  }
  if (proof !== "mtls" || thumbprint !== cnf["x5t#S256"]) {
    throw new AgentGateError(
      "token_invalid",
      "A certificate-bound token came without its certificate.",
      { details: { check: "x5t#S256" } },
    );
  }
}
