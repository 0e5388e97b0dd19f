/**
 * Web sessions: a random 256-bit id lives only in the browser's cookie; the server keeps its
 * SHA-256. Sessions end after an idle period and at an absolute limit, on sign-out, and all at once
 * when the user's password changes. The CSRF token is an HMAC of the session id, so it is bound to
 * the session without being stored.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { equalSecrets } from '../../crypto/constant-time';
import type { Clock } from '../clock';
import type { WebAuthStore, WebSessionRecord } from '../web/web-auth-store';

export const SESSION_COOKIE = 'nxsc_session';
export const DEFAULT_SESSION_IDLE_MS = 2 * 3_600_000;
export const DEFAULT_SESSION_ABSOLUTE_MS = 12 * 3_600_000;
/** last_seen_at is written at most this often, so page loads stay read-only. */
const TOUCH_GRANULARITY_MS = 60_000;
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
}

export interface NewSession {
  /** The cookie value; never stored, never logged. */
  sessionId: string;
  record: WebSessionRecord;
}

export const hashSessionId = (sessionId: string): string =>
  createHash('sha256').update(sessionId, 'utf8').digest('hex');

export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('nx-sealed-cache csrf v1').digest('base64url');
}

export function csrfTokenMatches(sessionId: string, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  return equalSecrets(submitted, csrfTokenFor(sessionId));
}

export class SessionService {
  constructor(
    private readonly store: WebAuthStore,
    private readonly clock: Clock,
    private readonly limits: SessionLimits = {
      idleMs: DEFAULT_SESSION_IDLE_MS,
      absoluteMs: DEFAULT_SESSION_ABSOLUTE_MS,
    },
  ) {}

  async create(userId: string): Promise<NewSession> {
    const now = this.clock();
    const sessionId = randomBytes(32).toString('base64url');
    const record: WebSessionRecord = {
      idHash: hashSessionId(sessionId),
      userId,
      createdAt: now.toISOString(),
      lastSeenAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.limits.absoluteMs).toISOString(),
    };
    await this.store.insertSession(record);
    return { sessionId, record };
  }

  /** The live session for a cookie value, or undefined (unknown, idle too long, or past its absolute expiry). */
  async resolve(sessionId: string | undefined): Promise<WebSessionRecord | undefined> {
    if (sessionId === undefined || !SESSION_ID_PATTERN.test(sessionId)) return undefined;
    const idHash = hashSessionId(sessionId);
    const record = await this.store.findSession(idHash);
    if (record === undefined || !equalSecrets(Buffer.from(record.idHash, 'hex'), Buffer.from(idHash, 'hex')))
      return undefined;
    const now = this.clock().getTime();
    if (now >= Date.parse(record.expiresAt) || now - Date.parse(record.lastSeenAt) >= this.limits.idleMs) {
      await this.store.deleteSession(idHash);
      return undefined;
    }
    if (now - Date.parse(record.lastSeenAt) >= TOUCH_GRANULARITY_MS)
      await this.store.touchSession(idHash, new Date(now).toISOString());
    return record;
  }

  async end(sessionId: string): Promise<void> {
    await this.store.deleteSession(hashSessionId(sessionId));
  }

  /** Sign-out everywhere: after a password change or when an admin resets a user. */
  async endAllForUser(userId: string): Promise<void> {
    await this.store.deleteUserSessions(userId);
  }
}
