/**
 * Isolated tiers expire on their own: entries outside `shared` older than their workspace's
 * `isolatedRetention` are deleted with their blobs. One pass; the retention loop
 * (src/server/retention) decides how often.
 */
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { BlobStore } from '../storage/blob-store';
import { removeEntries } from './remove-entries';
import { retentionMs } from './tier-policy';

export interface SweepDeps {
  store: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
}

export interface SweepResult {
  entries: number;
  blobFailures: number;
}

export async function sweepIsolatedEntries(deps: SweepDeps): Promise<SweepResult> {
  const tiers = deps.store.tiers;
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
