/**
 * Invitations of existing users into an organisation. An organisation's admin may only ask; the
 * membership exists once the invited user accepts (API, CLI or web page). One place for all three.
 */
import { SealedCacheError } from '../../errors';
import type { InvitationJson } from '../../protocol';
import { newInvitationId } from '../ids';
import type { MemberRole, Membership, Organisation, OrgInvitation, User } from '../metadata/records';
import type { ServerContext } from '../server-context';
import type { AuditActor } from './audit-log';

export const INVITATION_LIFETIME_MS = 14 * 86_400_000;

type Deps = Pick<ServerContext, 'store' | 'audit' | 'clock'>;

export async function inviteUser(
  ctx: Deps,
  org: Organisation,
  user: User,
  role: MemberRole,
  actor: AuditActor,
): Promise<OrgInvitation> {
  if ((await ctx.store.findMembership(org.id, user.id)) !== undefined)
    throw new SealedCacheError('ERR_MEMBER_EXISTS', `user ${user.name} is already a member of ${org.name}`);
  const tenancy = ctx.store.tenancy;
  const now = ctx.clock();
  const open = (await tenancy.listOpenInvitations({ userId: user.id, orgId: org.id })).find(
    (i) => Date.parse(i.expiresAt) > now.getTime(),
  );
  if (open !== undefined) return open;
  const invitation: OrgInvitation = {
    id: newInvitationId(),
    orgId: org.id,
    userId: user.id,
    role,
    createdByUserId: actor.userId,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + INVITATION_LIFETIME_MS).toISOString(),
    answeredAt: null,
    accepted: null,
  };
  await tenancy.insertInvitation(invitation);
  await ctx.audit.record({
    action: 'invitation.created',
    actor,
    orgId: org.id,
    targetId: user.id,
    details: { invitationId: invitation.id, role },
  });
  return invitation;
}

/** Adds the membership directly (server admins, or a bot into the organisation that owns it) and places an unowned bot. */
export async function addMemberDirectly(
  ctx: Deps,
  org: Organisation,
  user: User,
  role: MemberRole,
  actor: AuditActor,
): Promise<Membership> {
  if (user.bot && user.ownerOrgId === null && !(await ctx.store.tenancy.claimBot(user.id, org.id))) {
    throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `bot ${user.name} was just placed in another organisation`);
  }
  const membership = { orgId: org.id, userId: user.id, role, createdAt: ctx.clock().toISOString() };
  if ((await ctx.store.insertMembership(membership)) === 'exists')
    throw new SealedCacheError('ERR_MEMBER_EXISTS', `user ${user.name} is already a member of ${org.name}`);
  await ctx.audit.record({ action: 'member.added', actor, orgId: org.id, targetId: user.id, details: { role } });
  return membership;
}

/** The invited user's answer; accepting creates the membership with the invited role. */
export async function answerInvitation(
  ctx: Deps,
  invitation: OrgInvitation,
  accept: boolean,
  actor: AuditActor,
): Promise<Membership | undefined> {
  const now = ctx.clock();
  if (invitation.answeredAt !== null || Date.parse(invitation.expiresAt) <= now.getTime()) {
    throw new SealedCacheError(
      'ERR_INVITATION_NOT_FOUND',
      `invitation ${invitation.id} was already answered or has expired`,
    );
  }
  if (!(await ctx.store.tenancy.answerInvitation(invitation.id, accept, now.toISOString()))) {
    throw new SealedCacheError('ERR_INVITATION_NOT_FOUND', `invitation ${invitation.id} was just answered`);
  }
  await ctx.audit.record({
    action: accept ? 'invitation.accepted' : 'invitation.declined',
    actor,
    orgId: invitation.orgId,
    targetId: invitation.userId,
    details: { invitationId: invitation.id },
  });
  if (!accept) return undefined;
  const membership = {
    orgId: invitation.orgId,
    userId: invitation.userId,
    role: invitation.role,
    createdAt: now.toISOString(),
  };
  if ((await ctx.store.insertMembership(membership)) === 'exists') return membership;
  await ctx.audit.record({
    action: 'member.added',
    actor,
    orgId: invitation.orgId,
    targetId: invitation.userId,
    details: { role: invitation.role, via: 'invitation' },
  });
  return membership;
}

export const presentInvitation = (
  invitation: OrgInvitation,
  org: Organisation | undefined,
  user: User | undefined,
): InvitationJson => ({
  id: invitation.id,
  orgId: invitation.orgId,
  orgName: org?.name ?? null,
  userId: invitation.userId,
  userName: user?.name ?? null,
  role: invitation.role,
  createdAt: invitation.createdAt,
  expiresAt: invitation.expiresAt,
});
