import type { VerifiedAgent } from "../identity/agent-token.js";
import type { ToolDescriptor } from "../policy/tool-descriptor.js";
import type { CertificateCredential } from "./certificate-credential.js";
import type { CredentialSource } from "./credential-provider.js";

/** Framework facts an adapter passes along for the audit trail. */
export interface InvocationMetadata {
  /** `langchain`, `mcp`, `crew`, … */
  readonly framework?: string;
  /** The model's tool-call id. */
  readonly toolCallId?: string;
  readonly runId?: string;
  readonly traceId?: string;
  readonly spanId?: string;
  /**
   * The proof of possession the transport checked for this very request: `"dpop"` (a DPoP
   * proof, the MCP HTTP helpers), `"mtls"` (the TLS client certificate, for a certificate-bound
   * token) or `"call"` (an AgentGate call proof in MCP `_meta`, stdio and in-memory). A bound
   * token (`cnf`) without the matching one is refused: its holder proved nothing.
   */
  readonly proofOfPossession?: "dpop" | "mtls" | "call";
  /**
   * The thumbprint the proof was checked against: the proof key's RFC 7638 thumbprint (`dpop`,
   * `call`) or the client certificate's `x5t#S256` (`mtls`). The gate requires it to equal the
   * token's `cnf` (for `call` and `mtls` always, for `dpop` when given).
   */
  readonly proofThumbprint?: string;
}

/** One tool call, as an adapter hands it to {@link Gate.invoke}. */
export interface ToolInvocation {
  readonly tool: ToolDescriptor;
  /** The raw arguments, as the model produced them. */
  readonly arguments: unknown;
  /**
   * The agent's token, or a provider that returns a fresh one. `undefined` when the adapter found
   * none: the gate denies the call (`token_invalid`) and records the denial (K85), so adapters
   * pass what they found rather than refuse before the gate. A {@link CertificateCredential}
   * (a verified mTLS peer chain) when the gate has a `certificates` authenticator.
   */
  readonly credential: CredentialSource | CertificateCredential | undefined;
  readonly metadata?: InvocationMetadata;
  /**
   * Trusted request facts from the integrator (never from the model), merged into the policy
   * context, e.g. `{ channel: "email" }`. Cannot override the gate's own fields.
   */
  readonly context?: Readonly<Record<string, unknown>>;
  /** Aborts waiting for a decision or an approval. */
  readonly signal?: AbortSignal;
}

/** What a running tool learns about its call. */
export interface InvocationContext {
  readonly invocationId: string;
  readonly agent: VerifiedAgent;
  readonly tool: ToolDescriptor;
}
