/** Fixed-window counters per key (requests, bytes, failed logins), on an injected clock; memory stays bounded. */
import type { Clock } from '../clock';

const MAX_KEYS = 100_000;

interface Window {
  startedAt: number;
  used: number;
}

export class WindowCounter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** What `key` used in the current window. */
  used(key: string): number {
    return this.current(key)?.used ?? 0;
  }

  /** Records `amount` unless that would pass `limit`; false (nothing recorded) when it would. */
  tryAdd(key: string, amount: number, limit: number): boolean {
    const window = this.current(key) ?? this.open(key);
    if (window.used + amount > limit) return false;
    window.used += amount;
    return true;
  }

  /** Records regardless of any limit (bytes already sent, a failure that happened). */
  add(key: string, amount: number): void {
    (this.current(key) ?? this.open(key)).used += amount;
  }

  private current(key: string): Window | undefined {
    const window = this.windows.get(key);
    if (window === undefined) return undefined;
    if (this.clock().getTime() - window.startedAt >= this.windowMs) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private open(key: string): Window {
    if (this.windows.size >= MAX_KEYS) this.prune();
    const window = { startedAt: this.clock().getTime(), used: 0 };
    this.windows.set(key, window);
    return window;
  }

  /** Drops expired windows, then the oldest half if many keys are still live (a flood of addresses). */
  private prune(): void {
    const now = this.clock().getTime();
    for (const [key, window] of this.windows) if (now - window.startedAt >= this.windowMs) this.windows.delete(key);
    if (this.windows.size < MAX_KEYS) return;
    let drop = this.windows.size / 2;
    for (const key of this.windows.keys()) {
      if (drop-- <= 0) break;
      this.windows.delete(key);
    }
  }
}
