/**
 * One-shot form nonces for forms whose answer shows a secret (create and rotate token, invite):
 * a reload re-posts the same nonce, which is refused, so no secret is shown or minted twice.
 * Used nonces are kept in the database (hashed with the session), so a reload sent to another
 * replica is refused too; a nonce lives as long as a session could.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import type { WebAuthStore } from './web-auth-store';

const NONCE_LIFETIME_MS = 12 * 3_600_000;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export class FormOnce {
  constructor(
    private readonly store: WebAuthStore,
    private readonly clock: Clock,
  ) {}

  issue(): string {
    return randomBytes(16).toString('base64url');
  }

  /** True the first time a (session, nonce) pair is presented, false ever after. */
  async consume(sessionHash: string, nonce: unknown): Promise<boolean> {
    if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) return false;
    const now = this.clock().getTime();
    const keyHash = createHash('sha256').update(`${sessionHash}:${nonce}`).digest('base64url');
    return this.store.useFormNonce(
      keyHash,
      new Date(now).toISOString(),
      new Date(now - NONCE_LIFETIME_MS).toISOString(),
    );
  }
}
