/** Runs retention passes one at a time, on an interval and on demand, and keeps their running totals. */
import type { ServerMetrics } from '../observability/metrics';
import { type RetentionDeps, type Tally, emptyTally, runRetentionPass } from './retention-sweep';

export interface RetentionLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export class RetentionService {
  /** Everything removed since the server started, by reason. */
  readonly totals: Tally = emptyTally();
  lastRunAt: string | null = null;
  private running: Promise<Tally> | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** Set once the server's logger exists. */
  log: RetentionLog = { info: () => undefined, error: () => undefined };
  /** Background work that rides on the same pass and lock: the SSO identity re-check (src/server/sso/sso-recheck.ts). */
  alsoEachPass: (() => Promise<void>) | undefined;

  constructor(
    private readonly deps: RetentionDeps,
    private readonly metrics: ServerMetrics,
  ) {}

  /** One pass now; a call during a pass joins it instead of starting another. */
  run(): Promise<Tally> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  start(intervalMs: number): void {
    if (intervalMs === 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.run().catch((err: unknown) => this.log.error({ err }, 'retention pass failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the interval and waits for a pass in progress, so the database can close after. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<Tally> {
    // One sweeper at a time over every replica sharing the database; the others skip this pass.
    const tally = await this.deps.store.runExclusive('retention', async () => {
      const removed = await runRetentionPass(this.deps);
      await this.alsoEachPass?.();
      return removed;
    });
    if (tally === undefined) return emptyTally();
    this.lastRunAt = this.deps.clock().toISOString();
    for (const [reason, { count, bytes }] of Object.entries(tally) as [keyof Tally, Tally[keyof Tally]][]) {
      this.totals[reason].count += count;
      this.totals[reason].bytes += bytes;
      if (count > 0) this.metrics.evictions.inc({ reason }, count);
      if (bytes > 0) this.metrics.evictedBytes.inc({ reason }, bytes);
    }
    if (Object.values(tally).some((t) => t.count > 0))
      this.log.info({ removed: tally }, 'retention removed entries or expired tokens');
    return tally;
  }
}
