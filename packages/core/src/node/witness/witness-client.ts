/**
 * The port a writer submits checkpoints through (C2SP `tlog-witness` semantics): the in-process
 * {@link Witness} implements it, and so does {@link HttpWitnessClient} for a witness in another
 * process or host.
 */

/** A checkpoint with the consistency proof from the last size the witness cosigned. */
export interface AddCheckpointRequest {
  /** The size of the last checkpoint the witness cosigned for this log (0 for a new log). */
  readonly oldSize: number;
  /** RFC 9162 consistency proof from `oldSize` to the new checkpoint's size. */
  readonly proof: readonly Buffer[];
  /** The signed checkpoint note. */
  readonly checkpoint: string;
}

/** What the witness answered. */
export type AddCheckpointResponse =
  | { readonly status: "cosigned"; readonly cosignature: string }
  /** `oldSize` is not the witness's latest size for this log: that size is `size`. */
  | { readonly status: "conflict"; readonly size: number }
  | { readonly status: "rejected"; readonly reason: string };

/** A witness, as a writer or a verifier sees it. */
export interface WitnessClient {
  /** Submits a checkpoint; cosigns only append-only growth. Rejects when unreachable. */
  addCheckpoint(request: AddCheckpointRequest): Promise<AddCheckpointResponse>;
  /** The latest cosigned checkpoint note of `origin`, or undefined when the witness has none. */
  latest(origin: string): Promise<string | undefined>;
  /** The origins of every log the witness holds a checkpoint for. */
  origins(): Promise<string[]>;
}

/** Formats a request as the body of `POST /add-checkpoint` (C2SP `tlog-witness`). */
export function formatAddCheckpoint(request: AddCheckpointRequest): string {
  const proof = request.proof.map((hash) => `${hash.toString("base64")}\n`).join("");
  return `old ${request.oldSize}\n${proof}\n${request.checkpoint}`;
}

/** Parses the body of `POST /add-checkpoint`; throws `TypeError` when malformed. */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const split = body.indexOf("\n\n");
  const head = split < 0 ? [] : body.slice(0, split).split("\n");
  const old = /^old (0|[1-9][0-9]{0,15})$/.exec(head[0] ?? "");
  if (old === null) throw new TypeError("the request does not start with `old <size>`");
  const proof = head.slice(1).map((line) => {
    if (!/^[A-Za-z0-9+/]{43}=$/.test(line)) throw new TypeError("a proof line is not a hash");
    return Buffer.from(line, "base64");
  });
  if (proof.length > 63) throw new TypeError("the proof is too long");
  return { oldSize: Number(old[1]), proof, checkpoint: body.slice(split + 2) };
}

/** A {@link WitnessClient} over HTTP. */
export class HttpWitnessClient implements WitnessClient {
  readonly #url: string;
  readonly #timeoutMs: number;

  /** `url` is the witness's base URL, e.g. `http://127.0.0.1:7380`. */
  constructor(url: string, options: { timeoutMs?: number } = {}) {
    this.#url = url.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  async addCheckpoint(request: AddCheckpointRequest): Promise<AddCheckpointResponse> {
    const response = await fetch(`${this.#url}/add-checkpoint`, {
      method: "POST",
      body: formatAddCheckpoint(request),
      headers: { "content-type": "text/plain; charset=utf-8" },
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await response.text();
    if (response.status === 200) return { status: "cosigned", cosignature: text };
    if (response.status === 409) return { status: "conflict", size: Number(text.trim()) };
    return { status: "rejected", reason: `${response.status}: ${text.slice(0, 200)}` };
  }

  async latest(origin: string): Promise<string | undefined> {
    const response = await fetch(`${this.#url}/checkpoint?origin=${encodeURIComponent(origin)}`, {
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`the witness answered ${response.status}`);
    return response.text();
  }

  async origins(): Promise<string[]> {
    const response = await fetch(`${this.#url}/origins`, {
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    if (!response.ok) throw new Error(`the witness answered ${response.status}`);
    return (await response.text()).split("\n").filter(Boolean);
  }
}
