/**
 * One retention pass: isolated tiers by their workspace's limit, entries unread for too long,
 * least recently used entries above the size cap, orphan blobs and stale uploads, and the tokens
 * CI identity exchanges leave behind. Rows go first, so an entry is a miss from then on; a blob
 * still being read is deleted when its reader is done.
 */
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { EvictionReason } from '../observability/metrics';
import type { BlobStore } from '../storage/blob-store';
import type { BlobInventory } from './blob-inventory';
import type { ReadTrackingBlobStore } from './read-tracker';
import { type EntryRef } from './retention-store';

/** A blob with no row, or an upload file, younger than this may be a write in progress. */
export const ORPHAN_MIN_AGE_MS = 60 * 60 * 1000;
const BATCH = 500;

export interface RetentionLimits {
  retentionMaxBytes: number;
  retentionMaxAge: number;
  /** How long after expiry an exchanged CI identity token is kept; 0 = always. */
  ciIdentityTokenRetention: number;
  /** How long run reports are kept; 0 = always. */
  runReportRetention: number;
}

/** The isolated-tier sweep of the write-tiers area, called once per pass. */
export type IsolatedSweep = (deps: {
  store: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
}) => Promise<{ entries: number }>;

export interface RetentionDeps {
  store: MetadataStore;
  blobs: ReadTrackingBlobStore;
  inventory: BlobInventory;
  clock: Clock;
  limits: RetentionLimits;
  isolatedSweep?: IsolatedSweep;
}

export type Tally = Record<EvictionReason, { count: number; bytes: number }>;

export function emptyTally(): Tally {
  return {
    age: { count: 0, bytes: 0 },
    size: { count: 0, bytes: 0 },
    isolated: { count: 0, bytes: 0 },
    orphan: { count: 0, bytes: 0 },
    tmp: { count: 0, bytes: 0 },
    'ci-tokens': { count: 0, bytes: 0 },
    'run-reports': { count: 0, bytes: 0 },
  };
}

async function evict(deps: RetentionDeps, entry: EntryRef, tally: Tally, reason: EvictionReason): Promise<boolean> {
  if (!(await deps.store.retention.deleteIfUntouched(entry))) return false;
  await deps.blobs.deleteWhenIdle(entry.blobKey);
  tally[reason].count++;
  tally[reason].bytes += entry.size;
  return true;
}

async function sweepByAge(deps: RetentionDeps, tally: Tally): Promise<void> {
  if (deps.limits.retentionMaxAge === 0) return;
  const before = new Date(deps.clock().getTime() - deps.limits.retentionMaxAge).toISOString();
  const retention = deps.store.retention;
  let after: EntryRef | undefined;
  for (;;) {
    const batch = await retention.leastRecentlyUsed(BATCH, before, after);
    for (const entry of batch) await evict(deps, entry, tally, 'age');
    if (batch.length < BATCH) return;
    after = batch[batch.length - 1];
  }
}

/** Least recently used first, skipping entries being read; stops once the total is under the cap. */
async function sweepBySize(deps: RetentionDeps, tally: Tally): Promise<void> {
  const cap = deps.limits.retentionMaxBytes;
  if (cap === 0) return;
  const retention = deps.store.retention;
  let excess = (await retention.totals()).bytes - cap;
  let after: EntryRef | undefined;
  while (excess > 0) {
    const batch = await retention.leastRecentlyUsed(BATCH, undefined, after);
    for (const entry of batch) {
      if (excess <= 0) return;
      if (deps.blobs.isReading(entry.blobKey)) continue;
      if (await evict(deps, entry, tally, 'size')) excess -= entry.size;
    }
    if (batch.length < BATCH) return;
    after = batch[batch.length - 1];
  }
}

async function sweepIsolated(deps: RetentionDeps, tally: Tally): Promise<void> {
  if (deps.isolatedSweep === undefined) return;
  // Deferred deletes: an isolated entry being read is not cut off mid-stream either.
  const blobs: BlobStore = {
    put: (key, body, size) => deps.blobs.put(key, body, size),
    open: (key) => deps.blobs.open(key),
    delete: async (key) => {
      await deps.blobs.deleteWhenIdle(key);
    },
  };
  const removed = await deps.isolatedSweep({ store: deps.store, blobs, clock: deps.clock });
  tally.isolated.count += removed.entries;
}

async function sweepOrphans(deps: RetentionDeps, tally: Tally): Promise<void> {
  const olderThan = deps.clock().getTime() - ORPHAN_MIN_AGE_MS;
  const retention = deps.store.retention;
  for await (const blob of deps.inventory.blobs()) {
    if (blob.modifiedAt >= olderThan || deps.blobs.isReading(blob.name) || (await retention.blobKeyInUse(blob.name)))
      continue;
    await deps.inventory.removeBlob(blob.name);
    tally.orphan.count++;
    tally.orphan.bytes += blob.size;
  }
  for await (const file of deps.inventory.tmpFiles()) {
    if (file.modifiedAt >= olderThan) continue;
    await deps.inventory.removeTmp(file.name);
    tally.tmp.count++;
    tally.tmp.bytes += file.size;
  }
}

/**
 * Every CI job's exchange leaves a token row that expires within hours; after the grace (audit pages and
 * provenance still name it meanwhile) it goes. Expired `jti`s go too, for when no exchange comes to clear them.
 */
async function sweepCiIdentity(deps: RetentionDeps, tally: Tally): Promise<void> {
  const now = deps.clock().getTime();
  const identity = deps.store.ciIdentity;
  await identity.forgetExpiredJtis(new Date(now).toISOString());
  if (deps.limits.ciIdentityTokenRetention === 0) return;
  const before = new Date(now - deps.limits.ciIdentityTokenRetention).toISOString();
  tally['ci-tokens'].count += await identity.removeExpiredExchangedTokens(before);
}

/** Run reports feed the Runs page; older than the retention they go (a run and its tasks at once). */
async function sweepRunReports(deps: RetentionDeps, tally: Tally): Promise<void> {
  if (deps.limits.runReportRetention === 0) return;
  const before = new Date(deps.clock().getTime() - deps.limits.runReportRetention).toISOString();
  tally['run-reports'].count += await deps.store.runs.deleteReportedBefore(before);
}

export async function runRetentionPass(deps: RetentionDeps): Promise<Tally> {
  const tally = emptyTally();
  await sweepIsolated(deps, tally);
  await sweepByAge(deps, tally);
  await sweepBySize(deps, tally);
  await sweepOrphans(deps, tally);
  await sweepCiIdentity(deps, tally);
  await sweepRunReports(deps, tally);
  return tally;
}
