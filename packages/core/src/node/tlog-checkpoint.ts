/**
 * Checkpoints in the C2SP `tlog-checkpoint` text format: the origin (which log), the tree size
 * in decimal, the root hash in standard base64, each on its own line, then optional extension
 * lines. The body is what a signed note signs (see `signed-note.ts`).
 */

/** The prefix of every AgentGate audit log origin; the log id follows. */
export const AUDIT_ORIGIN_PREFIX = "agentgate.dev/audit/";

/** A checkpoint's content. */
export interface TreeHead {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
}

/** The origin of the audit log with this id. */
export function auditOrigin(logId: string): string {
  return `${AUDIT_ORIGIN_PREFIX}${logId}`;
}

/** The checkpoint body of `head`, ending in a newline. */
export function formatCheckpoint(head: TreeHead): string {
  return `${head.origin}\n${head.size}\n${head.root.toString("base64")}\n`;
}

/** Parses a checkpoint body; throws `TypeError` when it is not one. */
export function parseCheckpoint(body: string): TreeHead {
  const [origin, size, root] = body.split("\n");
  if (
    origin === undefined ||
    !/^\S+$/.test(origin) ||
    size === undefined ||
    !/^(0|[1-9][0-9]{0,15})$/.test(size) ||
    root === undefined ||
    !/^[A-Za-z0-9+/]{43}=$/.test(root)
  ) {
    throw new TypeError("not a checkpoint (origin, size, root hash)");
  }
  return { origin, size: Number(size), root: Buffer.from(root, "base64") };
}
