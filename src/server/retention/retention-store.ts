/**
 * The queries retention, stats and metrics need beyond MetadataStore: totals, least recently used
 * entries, conditional deletes, blob-key lookups. Plain kysely, so a PostgreSQL store can share it.
 */
import type { Kysely } from 'kysely';
import { SealedCacheError } from '../../errors';
import type { MetadataStore } from '../metadata/metadata-store';
import type { MetadataDatabase } from '../metadata/schema';
import { SqliteMetadataStore } from '../metadata/sqlite-metadata-store';

export interface EntryRef {
  id: number;
  blobKey: string;
  size: number;
  lastAccessAt: string;
}

export interface WorkspaceTotals {
  workspaceId: string;
  entries: number;
  bytes: number;
}

export class RetentionStore {
  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  async totals(): Promise<{ entries: number; bytes: number }> {
    const row = await this.db
      .selectFrom('entries')
      .select((eb) => [
        eb.fn.countAll<number>().as('entries'),
        eb.fn.coalesce(eb.fn.sum<number>('size'), eb.lit(0)).as('bytes'),
      ])
      .executeTakeFirstOrThrow();
    return { entries: Number(row.entries), bytes: Number(row.bytes) };
  }

  async totalsPerWorkspace(): Promise<WorkspaceTotals[]> {
    const rows = await this.db
      .selectFrom('entries')
      .select((eb) => ['workspace_id', eb.fn.countAll<number>().as('entries'), eb.fn.sum<number>('size').as('bytes')])
      .groupBy('workspace_id')
      .orderBy('workspace_id')
      .execute();
    return rows.map((r) => ({ workspaceId: r.workspace_id, entries: Number(r.entries), bytes: Number(r.bytes) }));
  }

  /** Least recently used first; `notBefore` pages on from the last entry seen. */
  async leastRecentlyUsed(
    limit: number,
    accessedBefore?: string,
    after?: { lastAccessAt: string; id: number },
  ): Promise<EntryRef[]> {
    let query = this.db.selectFrom('entries').select(['id', 'blob_key', 'size', 'last_access_at']);
    if (accessedBefore !== undefined) query = query.where('last_access_at', '<', accessedBefore);
    if (after !== undefined) {
      query = query.where((eb) =>
        eb.or([
          eb('last_access_at', '>', after.lastAccessAt),
          eb.and([eb('last_access_at', '=', after.lastAccessAt), eb('id', '>', after.id)]),
        ]),
      );
    }
    const rows = await query.orderBy('last_access_at').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      blobKey: r.blob_key,
      size: Number(r.size),
      lastAccessAt: r.last_access_at,
    }));
  }

  /** Deletes the row unless it was read (touched) since it was picked; true when it is gone. */
  async deleteIfUntouched(entry: EntryRef): Promise<boolean> {
    const result = await this.db
      .deleteFrom('entries')
      .where('id', '=', entry.id)
      .where('last_access_at', '=', entry.lastAccessAt)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async blobKeyInUse(blobKey: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('entries')
      .select('id')
      .where('blob_key', '=', blobKey)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** A trivial query: readiness asks whether the database answers at all. */
  async ping(): Promise<void> {
    await this.db.selectFrom('entries').select('id').limit(1).execute();
  }
}

const stores = new WeakMap<MetadataStore, RetentionStore>();

export function retentionStoreFor(store: MetadataStore): RetentionStore {
  if (!(store instanceof SqliteMetadataStore)) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      'retention needs the SQLite metadata store (other stores do not offer its queries yet)',
    );
  }
  let retention = stores.get(store);
  if (retention === undefined) {
    retention = new RetentionStore(store.connection);
    stores.set(store, retention);
  }
  return retention;
}
