import { parseAddCheckpoint, Witness } from "@agentgate/core/node";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";

/** Options of {@link startWitnessServer}. */
export interface WitnessServerOptions {
  /** The witness's own directory (its key and state); keep it unreadable to the writers. */
  readonly directory: string;
  /** The writers' checkpoint public keys (base64url, as `agentgate audit key` prints them). */
  readonly writerKeys: readonly string[];
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default 7380; 0 picks a free port. */
  readonly port?: number;
  /** The witness's name in its cosignatures. Default `agentgate.dev/witness`. */
  readonly name?: string;
}

/** A witness serving on a port. */
export interface RunningWitness {
  readonly url: string;
  /** The witness's verifier key, for `audit verify --witness-key`. */
  readonly verifierKey: string;
  close(): Promise<void>;
}

/**
 * The witness's HTTP API (C2SP `tlog-witness`): `POST /add-checkpoint` answers 200 with the
 * cosignature line, 409 with the witness's size for that log (`text/x.tlog.size`) when the
 * request's old size is not it, 422 when the proof or signature does not check, 400 when the
 * body is malformed; `GET /checkpoint?origin=` is the latest cosigned checkpoint of a log,
 * `GET /origins` every log it holds, `GET /key` its verifier key.
 */
export function witnessApp(witness: Witness): Hono {
  const app = new Hono();
  app.post("/add-checkpoint", bodyLimit({ maxSize: 64 * 1024 }), async (c) => {
    let request: ReturnType<typeof parseAddCheckpoint>;
    try {
      request = parseAddCheckpoint(await c.req.text());
    } catch (error) {
      return c.text((error as Error).message, 400);
    }
    const result = witness.add(request);
    if (result.status === "cosigned") return c.text(result.cosignature, 200);
    if (result.status === "conflict")
      return c.body(`${result.size}\n`, 409, { "content-type": "text/x.tlog.size" });
    return c.text(result.reason, 422);
  });
  app.get("/checkpoint", async (c) => {
    const note = await witness.latest(c.req.query("origin") ?? "");
    return note === undefined ? c.text("no checkpoint for this origin", 404) : c.text(note);
  });
  app.get("/origins", async (c) => c.text((await witness.origins()).join("\n")));
  app.get("/key", (c) => c.text(`${witness.verifierKey}\n`));
  return app;
}

/** Opens the witness directory and serves {@link witnessApp} on `host:port`. */
export async function startWitnessServer(options: WitnessServerOptions): Promise<RunningWitness> {
  const witness = Witness.open({
    directory: options.directory,
    writerKeys: options.writerKeys.map((key) => Buffer.from(key, "base64url")),
    ...(options.name === undefined ? {} : { name: options.name }),
  });
  const host = options.host ?? "127.0.0.1";
  const app = witnessApp(witness);
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolve) => {
    const started = serve(
      { fetch: app.fetch, hostname: host, port: options.port ?? 7380 },
      (info) => resolve({ server: started, port: info.port }),
    );
  });
  return {
    url: `http://${host}:${port}`,
    verifierKey: witness.verifierKey,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
