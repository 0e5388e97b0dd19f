/**
 * Changing a member: their role, and their access to one workspace of the organisation (an override of
 * the workspace's members' default, or `default` to drop it). One place for the admin API and the page.
 */
import { SealedCacheError } from '../../errors';
import type { AccessLevel } from '../../protocol';
import type { MemberRole, Membership, Organisation, User } from '../metadata/records';
import { requireWorkspace } from './lookups';
import type { ServerContext } from '../server-context';
import type { AuditActor } from './audit-log';

export interface MemberChange {
  role?: MemberRole;
  workspace?: string;
  access?: AccessLevel | 'default';
}

/** Validates, applies and audits (`member.changed`) a change; the caller has checked the actor is an org admin. */
export async function changeMember(
  ctx: Pick<ServerContext, 'store' | 'audit'>,
  org: Organisation,
  user: User,
  change: MemberChange,
  actor: AuditActor,
  via?: 'web',
): Promise<Membership> {
  const membership = await ctx.store.findMembership(org.id, user.id);
  if (membership === undefined)
    throw new SealedCacheError('ERR_MEMBER_NOT_FOUND', `user ${user.name} is not a member of ${org.name}`);
  if ((change.workspace === undefined) !== (change.access === undefined))
    throw new SealedCacheError('ERR_INPUT_INVALID', 'workspace and access go together');
  if (change.workspace !== undefined) {
    const workspace = await requireWorkspace(ctx.store, change.workspace);
    if (workspace.orgId !== org.id)
      throw new SealedCacheError(
        'ERR_WORKSPACE_NOT_FOUND',
        `workspace ${workspace.id} is not in organisation ${org.name}`,
      );
  }
  const before =
    change.workspace === undefined ? undefined : await ctx.store.findWorkspaceOverride(change.workspace, user.id);
  if (change.role !== undefined) await ctx.store.setMemberRole(org.id, user.id, change.role);
  if (change.workspace !== undefined)
    await ctx.store.setWorkspaceOverride(
      change.workspace,
      user.id,
      change.access === 'default' ? undefined : change.access,
    );
  await ctx.audit.record({
    action: 'member.changed',
    actor,
    orgId: org.id,
    workspaceId: change.workspace ?? null,
    targetId: user.id,
    details: {
      before:
        change.workspace === undefined
          ? { role: membership.role }
          : { role: membership.role, access: before?.access ?? 'default' },
      role: change.role ?? null,
      access: change.access ?? null,
      ...(via === undefined ? {} : { via }),
    },
  });
  return { ...membership, role: change.role ?? membership.role };
}
