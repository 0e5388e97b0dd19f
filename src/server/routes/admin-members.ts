import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { AccessLevel } from '../../protocol';
import { requireOrgAdmin } from '../auth/admin-caller';
import { adminCallerFrom } from '../auth/route-auth';
import type { ServerContext } from '../server-context';
import { IdOrName, parseInput } from './admin-input';
import { requireOrganisation, requireUser } from './admin-lookups';
import { presentMember } from './admin-presenters';
import { changeMember } from '../services/member-access';

const Role = z.enum(['admin', 'member']);
const OrgParams = z.object({ org: IdOrName });
const MemberParams = z.object({ org: IdOrName, user: IdOrName });
const AddMemberBody = z.strictObject({ user: IdOrName, role: Role.default('member') });
const ChangeMemberBody = z
  .strictObject({ role: Role.optional(), workspace: z.string().optional(), access: z.union([AccessLevel, z.literal('default')]).optional() })
  .refine((b) => (b.workspace === undefined) === (b.access === undefined), 'workspace and access go together')
  .refine((b) => b.role !== undefined || b.workspace !== undefined, 'nothing to change: give role, or workspace with access');

export async function adminMemberRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const actorOf = (request: Parameters<typeof adminCallerFrom>[0]) => {
    const caller = adminCallerFrom(request);
    return { caller, actor: { tokenId: caller.token.id, userId: caller.user?.id ?? null } };
  };

  app.get('/orgs/:org/members', { config: { auth: 'admin' } }, async (request) => {
    const org = await requireOrganisation(ctx.store, parseInput(OrgParams, request.params, 'path').org);
    await requireOrgAdmin(ctx.store, adminCallerFrom(request), org.id, 'list members');
    const [members, overrides, users] = await Promise.all([ctx.store.listMemberships(org.id), ctx.store.listWorkspaceOverrides(org.id), ctx.store.listUsers()]);
    return members.map((m) => presentMember(m, users.find((u) => u.id === m.userId), overrides));
  });

  app.post('/orgs/:org/members', { config: { auth: 'admin' } }, async (request, reply) => {
    const { caller, actor } = actorOf(request);
    const org = await requireOrganisation(ctx.store, parseInput(OrgParams, request.params, 'path').org);
    const body = parseInput(AddMemberBody, request.body, 'member');
    await requireOrgAdmin(ctx.store, caller, org.id, 'add members');
    const user = await requireUser(ctx.store, body.user);
    const membership = { orgId: org.id, userId: user.id, role: body.role, createdAt: ctx.clock().toISOString() };
    if ((await ctx.store.insertMembership(membership)) === 'exists') {
      throw new SealedCacheError('ERR_MEMBER_EXISTS', `user ${user.name} is already a member of ${org.name}`);
    }
    await ctx.audit.record({ action: 'member.added', actor, orgId: org.id, targetId: user.id, details: { role: body.role } });
    return reply.code(201).send(presentMember(membership, user, []));
  });

  app.patch('/orgs/:org/members/:user', { config: { auth: 'admin' } }, async (request) => {
    const { caller, actor } = actorOf(request);
    const params = parseInput(MemberParams, request.params, 'path');
    const body = parseInput(ChangeMemberBody, request.body, 'member change');
    const org = await requireOrganisation(ctx.store, params.org);
    await requireOrgAdmin(ctx.store, caller, org.id, 'change members');
    const user = await requireUser(ctx.store, params.user);
    const membership = await changeMember(ctx, org, user, body, actor);
    const overrides = await ctx.store.listWorkspaceOverrides(org.id);
    return presentMember(membership, user, overrides);
  });

  app.delete('/orgs/:org/members/:user', { config: { auth: 'admin' } }, async (request) => {
    const { caller, actor } = actorOf(request);
    const params = parseInput(MemberParams, request.params, 'path');
    const org = await requireOrganisation(ctx.store, params.org);
    await requireOrgAdmin(ctx.store, caller, org.id, 'remove members');
    const user = await requireUser(ctx.store, params.user);
    const membership = await ctx.store.findMembership(org.id, user.id);
    if (membership === undefined) throw new SealedCacheError('ERR_MEMBER_NOT_FOUND', `user ${user.name} is not a member of ${org.name}`);
    await ctx.store.deleteMembership(org.id, user.id);
    await ctx.audit.record({ action: 'member.removed', actor, orgId: org.id, targetId: user.id, details: { role: membership.role } });
    return { removed: true, orgId: org.id, userId: user.id };
  });
}
