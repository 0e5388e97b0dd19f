/**
 * Isolated tiers expire on their own: entries outside `shared` older than their workspace's
 * `isolatedRetention` are deleted with their blobs. One pass; the caller decides how often.
 */
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { BlobStore } from '../storage/blob-store';
import { removeEntries } from './remove-entries';
import { retentionMs } from './tier-policy';
import { tierStoreFor } from './tier-store';

export interface SweepDeps {
  store: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
}

export interface SweepResult {
  entries: number;
  blobFailures: number;
}

/** How often app.ts runs the sweep while no general retention loop calls it. */
export const ISOLATED_SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export async function sweepIsolatedEntries(deps: SweepDeps): Promise<SweepResult> {
  const tiers = tierStoreFor(deps.store);
  const now = deps.clock().getTime();
  const total: SweepResult = { entries: 0, blobFailures: 0 };
  for (const { workspaceId, isolatedRetention } of await tiers.listRetentions()) {
    const until = new Date(now - retentionMs(isolatedRetention)).toISOString();
    const removed = await removeEntries(tiers, deps.blobs, { workspaceId, tier: 'isolated', until });
    total.entries += removed.entries;
    total.blobFailures += removed.blobFailures;
  }
  return total;
}

export interface SweepLogger {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Runs the sweep every interval until the returned stop is called; one pass at a time, never throwing. */
export function startIsolatedSweep(deps: SweepDeps, log: SweepLogger, intervalMs = ISOLATED_SWEEP_INTERVAL_MS): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepIsolatedEntries(deps)
      .then((result) => result.entries > 0 && log.info({ ...result }, 'expired isolated-tier entries removed'))
      .catch((err: unknown) => log.error({ err }, 'isolated-tier sweep failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
