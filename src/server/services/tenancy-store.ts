/**
 * The `tenancy` part of MetadataStore: which organisation owns a bot, and invitations of existing
 * users into an organisation. Plain kysely on the store's connection, like the tier store.
 */
import type { Kysely, Selectable } from 'kysely';
import type { MemberRole, OrgInvitation } from '../metadata/records';
import type { MetadataDatabase, OrgInvitationsTable } from '../metadata/schema';

const toInvitation = (r: Selectable<OrgInvitationsTable>): OrgInvitation => ({
  id: r.id,
  orgId: r.org_id,
  userId: r.user_id,
  role: r.role as MemberRole,
  createdByUserId: r.created_by_user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  answeredAt: r.answered_at,
  accepted: r.accepted === null ? null : r.accepted === 1,
});

export class TenancyStore {
  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  /** Only a bot no organisation owns yet can be given one; answers whether it was. */
  async claimBot(userId: string, orgId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ owner_org_id: orgId })
      .where('id', '=', userId)
      .where('bot', '=', 1)
      .where('owner_org_id', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async insertInvitation(invitation: OrgInvitation): Promise<void> {
    await this.db
      .insertInto('org_invitations')
      .values({
        id: invitation.id,
        org_id: invitation.orgId,
        user_id: invitation.userId,
        role: invitation.role,
        created_by_user_id: invitation.createdByUserId,
        created_at: invitation.createdAt,
        expires_at: invitation.expiresAt,
        answered_at: null,
        accepted: null,
      })
      .execute();
  }

  async findInvitation(id: string): Promise<OrgInvitation | undefined> {
    const row = await this.db.selectFrom('org_invitations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toInvitation(row);
  }

  /** Unanswered invitations of a user (expired ones included; callers show or refuse them). */
  async listOpenInvitations(filter: { userId?: string; orgId?: string }): Promise<OrgInvitation[]> {
    let query = this.db.selectFrom('org_invitations').selectAll().where('answered_at', 'is', null);
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
    return (await query.orderBy('created_at').execute()).map(toInvitation);
  }

  /** Answers an open invitation once; false when it was already answered. */
  async answerInvitation(id: string, accepted: boolean, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('org_invitations')
      .set({ answered_at: at, accepted: accepted ? 1 : 0 })
      .where('id', '=', id)
      .where('answered_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }
}
