/**
 * Failed sign-ins lock an account (and, separately, a client address) with exponential backoff.
 * In memory: a restart forgets it, which is fine for a lockout that lasts minutes.
 * An attempt is counted (reserved) before its password is checked, so concurrent attempts cannot
 * all pass the check while the slow password hashes of the first ones are still running.
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

export const ACCOUNT_POLICY: ThrottlePolicy = {
  freeAttempts: 5,
  baseLockMs: 30_000,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
};
export const ADDRESS_POLICY: ThrottlePolicy = {
  freeAttempts: 20,
  baseLockMs: 30_000,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 60 * 60_000,
};
/** What a caller refused only because other attempts are still being checked is told to wait. */
export const IN_FLIGHT_RETRY_MS = 1_000;

/** How a reserved attempt ended: `failure` counts, `success` forgives past failures, `neutral` only frees the slot. */
export type AttemptOutcome = 'failure' | 'success' | 'neutral';

interface Failures {
  count: number;
  /** Attempts reserved and not yet settled. */
  inFlight: number;
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

  /**
   * Counts an attempt before it is evaluated. 0: go ahead, and settle it exactly once; otherwise the
   * milliseconds to wait. Attempts in flight use up the budget as if they had already failed.
   */
  reserve(key: string): number {
    const now = this.clock().getTime();
    const entry = this.current(key) ?? { count: 0, inFlight: 0, lastAt: now, lockedUntil: 0 };
    if (entry.lockedUntil > now) return entry.lockedUntil - now;
    // Below the free attempts, that many may run; after a lockout has passed, one at a time.
    const budget = entry.count < this.policy.freeAttempts ? this.policy.freeAttempts - entry.count : 1;
    if (entry.inFlight >= budget) return IN_FLIGHT_RETRY_MS;
    entry.inFlight += 1;
    entry.lastAt = now;
    this.failures.set(key, entry);
    if (this.failures.size > 50_000) this.forgetOld(now);
    return 0;
  }

  /** Ends an attempt taken with `reserve`. */
  settle(key: string, outcome: AttemptOutcome): void {
    const entry = this.failures.get(key);
    if (entry !== undefined) entry.inFlight = Math.max(0, entry.inFlight - 1);
    if (outcome === 'failure') this.recordFailure(key);
    else if (outcome === 'success' && entry !== undefined) {
      if (entry.inFlight === 0) this.failures.delete(key);
      else Object.assign(entry, { count: 0, lockedUntil: 0 });
    }
  }

  /** Counts a failure at once (for callers that check and record with no await in between). */
  recordFailure(key: string): void {
    const now = this.clock().getTime();
    const entry = this.current(key) ?? { count: 0, inFlight: 0, lastAt: now, lockedUntil: 0 };
    entry.count += 1;
    entry.lastAt = now;
    const over = entry.count - this.policy.freeAttempts;
    if (over >= 0)
      entry.lockedUntil = now + Math.min(this.policy.maxLockMs, this.policy.baseLockMs * 2 ** Math.min(over, 20));
    this.failures.set(key, entry);
    if (this.failures.size > 50_000) this.forgetOld(now);
  }

  private current(key: string): Failures | undefined {
    const entry = this.failures.get(key);
    if (
      entry !== undefined &&
      entry.inFlight === 0 &&
      this.clock().getTime() - entry.lastAt >= this.policy.forgetAfterMs
    ) {
      this.failures.delete(key);
      return undefined;
    }
    return entry;
  }

  private forgetOld(now: number): void {
    for (const [key, entry] of this.failures)
      if (entry.inFlight === 0 && now - entry.lastAt >= this.policy.forgetAfterMs) this.failures.delete(key);
  }
}
