/**
 * "At most once per key and window", for what a flood must not multiply (audit entries of refusals). Windows
 * are aligned to the clock like the shared limits' (shared-window-counter.ts). In this process's memory, or,
 * for replicas sharing PostgreSQL, claimed in limit_windows by an insert-if-absent: whichever replica inserts
 * a key's row first in a window gets it, every other replica is told no.
 */
import type { Clock } from '../clock';
import type { LimitStore } from './limit-store';

const MAX_KEYS = 10_000;

export class OncePerWindow {
  /** Key -> the start of the window it was last claimed (or refused) in here. */
  private readonly seen = new Map<string, number>();
  private forgottenBefore = 0;

  constructor(
    /** The claims' name in the table, unique per server. */
    private readonly name: string,
    private readonly windowMs: number,
    private readonly clock: Clock,
    /** The store replicas claim in (PostgreSQL); without it, this process's memory. */
    private readonly shared?: LimitStore,
  ) {}

  /** True the first time `key` is claimed in the current window (by any replica); false after. */
  async claim(key: string): Promise<boolean> {
    const now = this.clock().getTime();
    const start = now - (now % this.windowMs);
    // Once a replica has asked for a key in this window, the answer cannot change: no second round trip.
    if (this.seen.get(key) === start) return false;
    if (this.seen.size >= MAX_KEYS) this.forgetBefore(start);
    if (this.shared === undefined) {
      this.seen.set(key, start);
      return true;
    }
    // The window before stays, for a replica whose clock is a little behind.
    if (start - this.windowMs > this.forgottenBefore) {
      this.forgottenBefore = start - this.windowMs;
      await this.shared.forgetBefore(this.name, this.forgottenBefore);
    }
    const claimed = await this.shared.claim(this.name, key, start);
    this.seen.set(key, start);
    return claimed;
  }

  private forgetBefore(start: number): void {
    for (const [key, at] of this.seen) if (at < start) this.seen.delete(key);
    // Still full within one window (a flood of keys): start over; shared claims still hold, memory may repeat one.
    if (this.seen.size >= MAX_KEYS) this.seen.clear();
  }
}
