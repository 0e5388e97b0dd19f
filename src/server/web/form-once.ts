/**
 * One-shot form nonces for forms whose answer shows a secret (create and rotate token, invite):
 * a reload re-posts the same nonce, which is refused, so no secret is shown or minted twice.
 * In memory per server process; a nonce lives as long as a session could.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';

const NONCE_LIFETIME_MS = 12 * 3_600_000;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export class FormOnce {
  private readonly used = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  issue(): string {
    return randomBytes(16).toString('base64url');
  }

  /** True the first time a (session, nonce) pair is presented, false ever after. */
  consume(sessionHash: string, nonce: unknown): boolean {
    if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) return false;
    const now = this.clock().getTime();
    if (this.used.size > 100_000)
      for (const [key, at] of this.used) if (now - at > NONCE_LIFETIME_MS) this.used.delete(key);
    const key = `${sessionHash}:${nonce}`;
    if (this.used.has(key)) return false;
    this.used.set(key, now);
    return true;
  }
}
