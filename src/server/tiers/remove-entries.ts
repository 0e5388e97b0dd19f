/** Deleting entries for good: rows first (so they are never served again), then their blobs. */
import type { BlobStore } from '../storage/blob-store';
import type { EntryFilter, TierStore } from './tier-store';

export interface RemovalResult {
  entries: number;
  /** Blobs that could not be deleted: orphans, never served, which a later cleanup may retry. */
  blobFailures: number;
}

export async function removeEntries(tiers: TierStore, blobs: BlobStore, filter: EntryFilter): Promise<RemovalResult> {
  const removed = await tiers.removeEntries(filter);
  let blobFailures = 0;
  for (const entry of removed) {
    await blobs.delete(entry.blobKey).catch(() => {
      blobFailures++;
    });
  }
  return { entries: removed.length, blobFailures };
}
