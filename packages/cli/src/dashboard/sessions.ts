import { randomBytes, timingSafeEqual } from "node:crypto";

/** How long a one-time login code may wait to be used. */
export const LOGIN_CODE_TTL_MS = 10 * 60_000;
/** How long a dashboard session lasts. */
export const SESSION_TTL_MS = 8 * 60 * 60_000;

/** The dashboard's logins: one-time codes for the printed URL, and the sessions they open. */
export interface DashboardSessions {
  /** A new one-time code (printed in the login URL); single use, valid {@link LOGIN_CODE_TTL_MS}. */
  issueCode(): string;
  /** Consumes a code: a session id when it was valid and unused, else `undefined`. */
  redeemCode(code: string): string | undefined;
  /** A session for whoever typed the admin token (`undefined` when it is wrong or there is none). */
  redeemAdminToken(token: string): string | undefined;
  /** Whether a session id (the cookie's value) is open. */
  isOpen(session: string | undefined): boolean;
  /** Whether an admin token is configured (the login form is offered). */
  readonly acceptsAdminToken: boolean;
}

/**
 * Sessions in memory: random 256-bit ids, never the admin token itself, so the cookie and the
 * printed URL carry nothing that outlives the process. Codes and tokens are compared in constant
 * time; a code works once.
 */
export function dashboardSessions(
  options: { adminToken?: string; now?: () => number } = {},
): DashboardSessions {
  const now = options.now ?? Date.now;
  const codes = new Map<string, number>();
  const sessions = new Map<string, number>();
  const admin = options.adminToken === undefined ? undefined : Buffer.from(options.adminToken);
  const open = () => {
    const id = randomBytes(32).toString("base64url");
    sessions.set(id, now() + SESSION_TTL_MS);
    return id;
  };
  return {
    acceptsAdminToken: admin !== undefined,
    issueCode() {
      const code = randomBytes(32).toString("base64url");
      codes.set(code, now() + LOGIN_CODE_TTL_MS);
      return code;
    },
    redeemCode(code) {
      for (const [known, expires] of codes) {
        if (expires < now()) codes.delete(known);
      }
      const given = Buffer.from(code);
      for (const [known] of codes) {
        const candidate = Buffer.from(known);
        if (candidate.length === given.length && timingSafeEqual(candidate, given)) {
          codes.delete(known);
          return open();
        }
      }
      return undefined;
    },
    redeemAdminToken(token) {
      if (admin === undefined) return undefined;
      const given = Buffer.from(token);
      if (given.length !== admin.length || !timingSafeEqual(given, admin)) return undefined;
      return open();
    },
    isOpen(session) {
      if (session === undefined) return false;
      const expires = sessions.get(session);
      if (expires === undefined) return false;
      if (expires < now()) {
        sessions.delete(session);
        return false;
      }
      return true;
    },
  };
}
