/**
 * Failed sign-ins lock an account (and, separately, a client address) with exponential backoff.
 * In memory: a restart forgets it, which is fine for a lockout that lasts minutes.
 */
import type { Clock } from '../clock';

export interface ThrottlePolicy {
  /** Failures allowed before the first lockout. */
  freeAttempts: number;
  /** First lockout; each further failure doubles it, up to maxLockMs. */
  baseLockMs: number;
  maxLockMs: number;
  /** A key with no failure for this long starts over. */
  forgetAfterMs: number;
}

export const ACCOUNT_POLICY: ThrottlePolicy = { freeAttempts: 5, baseLockMs: 30_000, maxLockMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };
export const ADDRESS_POLICY: ThrottlePolicy = { freeAttempts: 20, baseLockMs: 30_000, maxLockMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };

interface Failures {
  count: number;
  lastAt: number;
  lockedUntil: number;
}

export class Throttle {
  private readonly failures = new Map<string, Failures>();

  constructor(
    private readonly policy: ThrottlePolicy,
    private readonly clock: Clock,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfterMs(key: string): number {
    const entry = this.current(key);
    return entry === undefined ? 0 : Math.max(0, entry.lockedUntil - this.clock().getTime());
  }

  recordFailure(key: string): void {
    const now = this.clock().getTime();
    const entry = this.current(key) ?? { count: 0, lastAt: now, lockedUntil: 0 };
    entry.count += 1;
    entry.lastAt = now;
    const over = entry.count - this.policy.freeAttempts;
    if (over >= 0) entry.lockedUntil = now + Math.min(this.policy.maxLockMs, this.policy.baseLockMs * 2 ** Math.min(over, 20));
    this.failures.set(key, entry);
    if (this.failures.size > 50_000) this.forgetOld(now);
  }

  recordSuccess(key: string): void {
    this.failures.delete(key);
  }

  private current(key: string): Failures | undefined {
    const entry = this.failures.get(key);
    if (entry !== undefined && this.clock().getTime() - entry.lastAt >= this.policy.forgetAfterMs) {
      this.failures.delete(key);
      return undefined;
    }
    return entry;
  }

  private forgetOld(now: number): void {
    for (const [key, entry] of this.failures) if (now - entry.lastAt >= this.policy.forgetAfterMs) this.failures.delete(key);
  }
}
