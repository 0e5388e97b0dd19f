/**
 * Fixed-window counters that replicas sharing a PostgreSQL count together (table limit_windows). Windows
 * are aligned to the clock (a 1-minute window is each whole minute), so every replica means the same one.
 * A request is decided in memory against the shared count as of this replica's last flush plus what it
 * counted itself since; about once a second each replica adds its counts and reads back the totals in one
 * upsert. The first request of a key in a window reads that key's shared count first (one round trip per
 * key, window and replica). Other replicas' use is therefore seen up to one flush late: together the
 * replicas can pass a limit by what the others counted since their last flush (docs/operations.md, Limits).
 */
import type { Clock } from '../clock';
import type { LimitStore } from './limit-store';

/** How often a replica adds what it counted to the shared counts and learns the others'. */
export const LIMIT_FLUSH_MS = 1_000;
/** Windows whose counts are kept in memory at most; the oldest are flushed and dropped beyond. */
const MAX_KEYS = 100_000;
/** Keys per upsert statement. */
const FLUSH_CHUNK = 1_000;

/** What RequestLimits needs of a counter: WindowCounter (this process only) or SharedWindowCounter. */
export interface LimitCounter {
  /** What `key` used in the current window. */
  used(key: string): number | Promise<number>;
  /** Records `amount` unless that would pass `limit`; false (nothing recorded) when it would. */
  tryAdd(key: string, amount: number, limit: number): boolean | Promise<boolean>;
  /** Records regardless of any limit (bytes already sent, a failure that happened). */
  add(key: string, amount: number): void;
}

interface Window {
  key: string;
  start: number;
  /** The shared count at the last flush or read, this replica's flushed counts included. */
  shared: number;
  /** Counted here and not yet flushed. */
  pending: number;
  loaded: Promise<void> | undefined;
}

export class SharedWindowCounter implements LimitCounter {
  private readonly windows = new Map<string, Window>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private forgottenBefore = 0;

  constructor(
    /** The counter's name in the table: `requests`, `bytes`, `auth-failures`. */
    private readonly name: string,
    private readonly windowMs: number,
    private readonly clock: Clock,
    private readonly store: LimitStore,
    /** Where a failed flush or read is reported; the limit then counts what this replica knows. */
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  async used(key: string): Promise<number> {
    const window = await this.loaded(key);
    return window.shared + window.pending;
  }

  async tryAdd(key: string, amount: number, limit: number): Promise<boolean> {
    const window = await this.loaded(key);
    if (window.shared + window.pending + amount > limit) return false;
    window.pending += amount;
    return true;
  }

  add(key: string, amount: number): void {
    this.current(key).pending += amount;
  }

  /** Adds every pending count to the shared ones and refreshes every key of the current window; one run at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops the timer after a last flush (shutdown). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private windowStart(): number {
    const now = this.clock().getTime();
    return now - (now % this.windowMs);
  }

  private current(key: string): Window {
    const start = this.windowStart();
    const known = this.windows.get(key);
    if (known !== undefined && known.start === start) return known;
    // A window that ended keeps its unflushed counts under another name until the next flush adds them.
    if (known !== undefined && known.pending > 0) this.windows.set(`${key}\0${known.start}`, known);
    const window: Window = { key, start, shared: 0, pending: 0, loaded: undefined };
    this.windows.set(key, window);
    if (this.windows.size > MAX_KEYS) this.dropOldest();
    this.timer ??= setInterval(() => void this.flush(), LIMIT_FLUSH_MS).unref();
    return window;
  }

  private async loaded(key: string): Promise<Window> {
    const window = this.current(key);
    window.loaded ??= this.store.read(this.name, window.start, [key]).then(
      (counts) => {
        window.shared = Math.max(window.shared, counts.get(key) ?? 0);
      },
      (err: unknown) => this.onError(err),
    );
    await window.loaded;
    return window;
  }

  private async flushOnce(): Promise<void> {
    const now = this.windowStart();
    // Keys with counts to add, and every key of the current window, so the others' use is learnt too.
    const batch = [...this.windows.values()].filter((w) => w.pending > 0 || w.start === now);
    try {
      for (let at = 0; at < batch.length; at += FLUSH_CHUNK) await this.flushChunk(batch.slice(at, at + FLUSH_CHUNK));
    } catch (err) {
      this.onError(err);
    }
    for (const [name, window] of this.windows)
      if (window.start !== now && window.pending === 0) this.windows.delete(name);
    if (now - this.windowMs > this.forgottenBefore) {
      this.forgottenBefore = now - this.windowMs;
      await this.store.forgetBefore(this.name, this.forgottenBefore).catch((err: unknown) => this.onError(err));
    }
  }

  /** One upsert per window start in the chunk (nearly always one: the current window). */
  private async flushChunk(chunk: Window[]): Promise<void> {
    const sent = new Map(chunk.map((w) => [w, w.pending]));
    for (const start of new Set(chunk.map((w) => w.start))) {
      const windows = chunk.filter((w) => w.start === start);
      const rows = windows.map((w) => ({ key: w.key, windowStart: start, used: sent.get(w) ?? 0 }));
      const totals = new Map((await this.store.add(this.name, rows)).map((r) => [r.key, r.used]));
      for (const w of windows) {
        const added = sent.get(w) ?? 0;
        w.pending -= added;
        w.shared = Math.max(w.shared + added, totals.get(w.key) ?? 0);
      }
    }
  }

  /** A flood of keys: the oldest half goes, unflushed counts included (as WindowCounter forgets them too). */
  private dropOldest(): void {
    let drop = this.windows.size / 2;
    for (const name of this.windows.keys()) {
      if (drop-- <= 0) break;
      this.windows.delete(name);
    }
  }
}
