/**
 * The `retention` part of MetadataStore: totals, least recently used entries, conditional deletes,
 * blob-key lookups. Plain kysely on the store's connection, the same on SQLite and PostgreSQL.
 */
import type { Kysely } from 'kysely';
import type { MetadataDatabase } from '../metadata/schema';

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
