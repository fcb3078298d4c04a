import pg from "pg";
import { channelOf } from "./database.js";

/** What a {@link Listener} tells its subscribers. */
export interface ListenerEvents {
  /** A NOTIFY on the schema's channel: `table:detail`. */
  notify(table: string, detail: string): void;
  /** The connection is (again) listening: state may have changed meanwhile, so resynchronise. */
  connected(): Promise<void>;
  /** The connection was lost: fail closed until `connected`. */
  lost(error: unknown): void;
}

/**
 * One connection per process that LISTENs on the schema's channel, reconnecting with backoff
 * (100 ms doubling up to 2 s). While it is down, every cache built on it fails closed.
 */
export class Listener {
  readonly #config: pg.ClientConfig;
  readonly #channel: string;
  readonly #subscribers = new Set<ListenerEvents>();
  #client: pg.Client | undefined;
  #up = false;
  #closed = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #delay = 100;
  #lastError: unknown;

  constructor(config: pg.ClientConfig, schema: string) {
    this.#config = { ...config, application_name: `agentgate-listener/${schema}` };
    this.#channel = channelOf(schema);
  }

  /** True while the connection is listening. */
  get up(): boolean {
    return this.#up;
  }

  /** Why the connection is down, when it is. */
  get lastError(): unknown {
    return this.#lastError;
  }

  subscribe(events: ListenerEvents): void {
    this.#subscribers.add(events);
  }

  /** Connects and listens; rejects when the first attempt fails (the caller refuses to start). */
  async start(): Promise<void> {
    await this.#connect();
  }

  /** Stops listening for good and ends the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#up = false;
    await this.#client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config);
    client.on("error", (error) => this.#lose(client, error));
    client.on("end", () => this.#lose(client, new Error("connection ended")));
    client.on("notification", (message) => {
      if (message.channel !== this.#channel) return;
      const payload = message.payload ?? "";
      const colon = payload.indexOf(":");
      const table = colon < 0 ? payload : payload.slice(0, colon);
      const detail = colon < 0 ? "" : payload.slice(colon + 1);
      for (const subscriber of this.#subscribers) subscriber.notify(table, detail);
    });
    this.#client = client;
    try {
      await client.connect();
      await client.query(`listen ${this.#channel}`);
    } catch (error) {
      this.#lose(client, error);
      throw error;
    }
    this.#delay = 100;
    // Resynchronise before saying "up": whatever changed while down is read first.
    try {
      await Promise.all([...this.#subscribers].map((subscriber) => subscriber.connected()));
    } catch (error) {
      this.#lose(client, error);
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#client === client && !this.#closed) {
      this.#up = true;
      this.#lastError = undefined;
    }
  }

  #lose(client: pg.Client, error: unknown): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#lastError = error;
    this.#up = false;
    for (const subscriber of this.#subscribers) subscriber.lost(error);
    client.end().catch(() => undefined);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#closed) return;
      this.#connect().catch(() => undefined);
    }, this.#delay);
    this.#retry.unref();
    this.#delay = Math.min(this.#delay * 2, 2_000);
  }
}
