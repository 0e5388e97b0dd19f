/**
 * The `tiers` part of MetadataStore: tier settings, entry listing by writer, quarantine, purge and
 * the isolated sweep. Plain kysely on the store's connection, the same on SQLite and PostgreSQL.
 */
import type { Kysely } from 'kysely';
import type { MetadataDatabase } from '../metadata/schema';
import type { TierPolicyPatch } from './tier-policy';
import { SHARED_NAMESPACE } from './write-tier';

/** Which entries an incident-response command acts on; every field narrows. */
export interface EntryFilter {
  workspaceId: string;
  tokenId?: string;
  userId?: string;
  namespace?: string;
  tier?: 'shared' | 'isolated';
  /** ISO times, inclusive at both ends. */
  since?: string;
  until?: string;
}

export interface ProvenanceRow {
  id: number;
  workspaceId: string;
  namespace: string;
  hash: string;
  size: number;
  sha256: string;
  writerTokenId: string | null;
  writerUserId: string | null;
  writerUserName: string | null;
  writerBot: boolean | null;
  createdAt: string;
  lastAccessAt: string;
  quarantinedAt: string | null;
}

export interface RemovedEntry {
  id: number;
  blobKey: string;
}

type Db = Kysely<MetadataDatabase>;

export class TierStore {
  constructor(private readonly db: Db) {}

  async updateTierPolicy(workspaceId: string, patch: TierPolicyPatch): Promise<void> {
    const values: { personal_token_tier?: string; isolated_retention?: string } = {};
    if (patch.personalTokenTier !== undefined) values.personal_token_tier = patch.personalTokenTier;
    if (patch.isolatedRetention !== undefined) values.isolated_retention = patch.isolatedRetention;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('workspaces').set(values).where('id', '=', workspaceId).execute();
  }

  async listEntries(filter: EntryFilter, limit: number): Promise<ProvenanceRow[]> {
    const rows = await this.filtered(filter)
      .leftJoin('users', 'users.id', 'entries.writer_user_id')
      .select([
        'entries.id',
        'entries.workspace_id',
        'entries.namespace',
        'entries.hash',
        'entries.size',
        'entries.sha256',
        'entries.writer_token_id',
        'entries.writer_user_id',
        'users.name as writer_user_name',
        'users.bot as writer_bot',
        'entries.created_at',
        'entries.last_access_at',
        'entries.quarantined_at',
      ])
      .orderBy('entries.created_at')
      .orderBy('entries.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      workspaceId: r.workspace_id,
      namespace: r.namespace,
      hash: r.hash,
      size: Number(r.size),
      sha256: r.sha256,
      writerTokenId: r.writer_token_id,
      writerUserId: r.writer_user_id,
      writerUserName: r.writer_user_name,
      writerBot: r.writer_bot === null ? null : Number(r.writer_bot) === 1,
      createdAt: r.created_at,
      lastAccessAt: r.last_access_at,
      quarantinedAt: r.quarantined_at,
    }));
  }

  /** Marks matching entries; the read path stops serving them with its next lookup. Returns how many changed. */
  async quarantineEntries(filter: EntryFilter, at: string): Promise<number> {
    const ids = this.filtered(filter).select('entries.id').where('entries.quarantined_at', 'is', null);
    const result = await this.db
      .updateTable('entries')
      .set({ quarantined_at: at })
      .where('id', 'in', ids)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Deletes matching rows (so they are never served again) and returns their blobs for the caller to delete. */
  async removeEntries(filter: EntryFilter): Promise<RemovedEntry[]> {
    return this.db.transaction().execute(async (trx) => {
      const rows = await new TierStore(trx).filtered(filter).select(['entries.id', 'entries.blob_key']).execute();
      const removed = rows.map((r) => ({ id: Number(r.id), blobKey: r.blob_key }));
      for (let i = 0; i < removed.length; i += 500) {
        await trx
          .deleteFrom('entries')
          .where(
            'id',
            'in',
            removed.slice(i, i + 500).map((r) => r.id),
          )
          .execute();
      }
      return removed;
    });
  }

  /** Workspaces with their isolated retention, for the sweep. */
  async listRetentions(): Promise<{ workspaceId: string; isolatedRetention: string }[]> {
    const rows = await this.db.selectFrom('workspaces').select(['id', 'isolated_retention']).execute();
    return rows.map((r) => ({ workspaceId: r.id, isolatedRetention: r.isolated_retention }));
  }

  private filtered(filter: EntryFilter) {
    let query = this.db.selectFrom('entries').where('entries.workspace_id', '=', filter.workspaceId);
    if (filter.tokenId !== undefined) query = query.where('entries.writer_token_id', '=', filter.tokenId);
    if (filter.userId !== undefined) query = query.where('entries.writer_user_id', '=', filter.userId);
    if (filter.namespace !== undefined) query = query.where('entries.namespace', '=', filter.namespace);
    if (filter.tier === 'shared') query = query.where('entries.namespace', '=', SHARED_NAMESPACE);
    if (filter.tier === 'isolated') query = query.where('entries.namespace', '!=', SHARED_NAMESPACE);
    if (filter.since !== undefined) query = query.where('entries.created_at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('entries.created_at', '<=', filter.until);
    return query;
  }
}
