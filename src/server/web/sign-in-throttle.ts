/**
 * Failed sign-ins lock an account (and, separately, a client address) with exponential backoff.
 * Throttle counts in this process's memory (a restart forgets it, fine for a lockout of minutes);
 * SharedThrottle keeps the failures and lockouts in the database too, so every replica sees them.
 * An attempt is counted (reserved) before its password is checked, so concurrent attempts cannot
 * all pass the check while the slow password hashes of the first ones are still running.
 */
import type { Clock } from '../clock';
import type { SignInFailures, WebAuthStore } from './web-auth-store';

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
    entry.lockedUntil = Math.max(entry.lockedUntil, lockedUntilAfter(this.policy, entry.count, now));
    this.failures.set(key, entry);
    if (this.failures.size > 50_000) this.forgetOld(now);
  }

  /** Takes the failures and lockout another replica recorded (or their absence), keeping attempts in flight here. */
  adopt(key: string, shared: SignInFailures | undefined): void {
    const entry = this.failures.get(key);
    if (shared === undefined) {
      if (entry !== undefined) Object.assign(entry, { count: 0, lockedUntil: 0 });
      return;
    }
    const adopted = {
      count: shared.failures,
      lastAt: Date.parse(shared.lastAt),
      lockedUntil: shared.lockedUntil === null ? 0 : Date.parse(shared.lockedUntil),
    };
    this.failures.set(key, { inFlight: entry?.inFlight ?? 0, ...adopted });
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

/** When a key with `count` failures may try again (0: not locked). */
function lockedUntilAfter(policy: ThrottlePolicy, count: number, now: number): number {
  const over = count - policy.freeAttempts;
  return over < 0 ? 0 : now + Math.min(policy.maxLockMs, policy.baseLockMs * 2 ** Math.min(over, 20));
}

/**
 * A Throttle whose failures and lockouts also live in the database (`sign_in_failures`), so guesses
 * spread over several replicas add up: each attempt first takes what the database holds, then
 * reserves here (attempts in flight are counted per process, failures over all of them).
 *
 * Per key, this process's reads and writes of the shared count take turns: a reserve never reads a
 * count that already holds a failure whose slot here is still taken (counting it twice would refuse
 * an attempt for no reason), and never adopts a count read before a failure whose slot has since
 * been freed (counting it not at all would let one attempt too many run). The password checks
 * between reserve and settle still run side by side.
 */
export class SharedThrottle {
  private readonly local: Throttle;
  /** Per key, the end of the last queued turn. */
  private readonly turns = new Map<string, Promise<void>>();

  constructor(
    private readonly scope: 'account' | 'address',
    private readonly policy: ThrottlePolicy,
    private readonly store: WebAuthStore,
    private readonly clock: Clock,
  ) {
    this.local = new Throttle(policy, clock);
  }

  reserve(key: string): Promise<number> {
    return this.inTurn(key, async () => {
      const shared = await this.store.findSignInFailures(this.keyOf(key));
      const forgotten =
        shared !== undefined && this.clock().getTime() - Date.parse(shared.lastAt) >= this.policy.forgetAfterMs;
      this.local.adopt(key, forgotten ? undefined : shared);
      return this.local.reserve(key);
    });
  }

  /** The slot here is freed only after the database has the outcome, in the same turn. */
  settle(key: string, outcome: AttemptOutcome): Promise<void> {
    return this.inTurn(key, async () => {
      try {
        if (outcome === 'success') await this.store.clearSignInFailures(this.keyOf(key));
        if (outcome === 'failure') await this.recordFailure(key);
      } finally {
        this.local.settle(key, outcome);
      }
    });
  }

  /** Runs `work` once every earlier turn for `key` has ended (whether it succeeded or not). */
  private inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.turns.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const done = result.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(key, done);
    void done.then(() => {
      if (this.turns.get(key) === done) this.turns.delete(key);
    });
    return result;
  }

  private async recordFailure(key: string): Promise<void> {
    const now = this.clock().getTime();
    const count = await this.store.addSignInFailure(
      this.keyOf(key),
      new Date(now).toISOString(),
      new Date(now - this.policy.forgetAfterMs).toISOString(),
    );
    const until = lockedUntilAfter(this.policy, count, now);
    if (until > 0) await this.store.lockSignIn(this.keyOf(key), new Date(until).toISOString());
  }

  private keyOf(key: string): string {
    return `${this.scope}:${key}`;
  }
}
