import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import {
  AccessLevel,
  type InvitationAnswerJson,
  type MemberAddedJson,
  type MemberRemovedJson,
} from '../../../protocol';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import { newUserId } from '../../ids';
import type { User } from '../../metadata/records';
import type { ServerContext } from '../../server-context';
import { addMemberDirectly, answerInvitation, inviteUser, presentInvitation } from '../../services/invitations';
import { changeMember } from '../../services/member-access';
import { IdOrName, Name, parseInput } from '../../input/request-input';
import { presentMember, presentUser } from '../support/presenters';

const Role = z.enum(['admin', 'member']);
const AddMemberBody = z.strictObject({ user: IdOrName, role: Role.default('member') });
const AddBotBody = z.strictObject({ name: Name });
const ChangeMemberBody = z
  .strictObject({
    role: Role.optional(),
    workspace: z.string().optional(),
    access: z.union([AccessLevel, z.literal('default')]).optional(),
  })
  .refine((b) => (b.workspace === undefined) === (b.access === undefined), 'workspace and access go together')
  .refine(
    (b) => b.role !== undefined || b.workspace !== undefined,
    'nothing to change: give role, or workspace with access',
  );

export async function adminMemberRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const actorOf = (request: Parameters<typeof authorizedOf>[0]) => auditActorOf(authorizedOf(request).actor);
  const memberOf = async (request: Parameters<typeof authorizedOf>[0]) => {
    const { org, user } = resourceOf(request, 'member');
    if ((await ctx.store.findMembership(org.id, user.id)) === undefined)
      throw new SealedCacheError('ERR_MEMBER_NOT_FOUND', `user ${user.name} is not a member of ${org.name}`);
    return { org, user };
  };

  app.get('/orgs/:org/members', permit('member.list', 'org-param'), async (request) => {
    const { org } = resourceOf(request, 'org');
    const [members, overrides, users] = await Promise.all([
      ctx.store.listMemberships(org.id),
      ctx.store.listWorkspaceOverrides(org.id),
      ctx.store.listUsers(),
    ]);
    return members.map((m) =>
      presentMember(
        m,
        users.find((u) => u.id === m.userId),
        overrides,
      ),
    );
  });

  /** Server admins add at once (201); an org admin's request becomes an invitation the user accepts (202). */
  app.post('/orgs/:org/members', permit('member.add', 'member-body'), async (request, reply) => {
    const { org, user } = resourceOf(request, 'member');
    const body = parseInput(AddMemberBody, request.body, 'member');
    if (authorizedOf(request).directly) {
      const membership = await addMemberDirectly(ctx, org, user, body.role, actorOf(request));
      return reply.code(201).send(presentMember(membership, user, []));
    }
    const invitation = await inviteUser(ctx, org, user, body.role, actorOf(request));
    return reply
      .code(202)
      .send({ invited: true, invitation: presentInvitation(invitation, org, user) } satisfies MemberAddedJson);
  });

  app.get('/orgs/:org/invitations', permit('member.list', 'org-param'), async (request) => {
    const { org } = resourceOf(request, 'org');
    const users = new Map((await ctx.store.listUsers()).map((u) => [u.id, u]));
    return (await ctx.store.tenancy.listOpenInvitations({ orgId: org.id })).map((i) =>
      presentInvitation(i, org, users.get(i.userId)),
    );
  });

  /** A bot owned by this organisation, and a member of it; only its admins issue its tokens. */
  app.post('/orgs/:org/bots', permit('bot.create', 'org-param'), async (request, reply) => {
    const { org } = resourceOf(request, 'org');
    const { name } = parseInput(AddBotBody, request.body, 'bot');
    const bot: User = {
      id: newUserId(),
      name,
      bot: true,
      serverAdmin: false,
      ownerOrgId: org.id,
      createdAt: ctx.clock().toISOString(),
    };
    if ((await ctx.store.insertUser(bot)) === 'exists')
      throw new SealedCacheError('ERR_USER_EXISTS', `a user named "${name}" already exists`);
    await ctx.store.insertMembership({ orgId: org.id, userId: bot.id, role: 'member', createdAt: bot.createdAt });
    await ctx.audit.record({
      action: 'member.added',
      actor: actorOf(request),
      orgId: org.id,
      targetId: bot.id,
      details: { role: 'member', bot: true },
    });
    return reply.code(201).send(presentUser(bot));
  });

  app.patch('/orgs/:org/members/:user', permit('member.change', 'member-param'), async (request) => {
    const body = parseInput(ChangeMemberBody, request.body, 'member change');
    const { org, user } = await memberOf(request);
    const membership = await changeMember(ctx, org, user, body, actorOf(request));
    return presentMember(membership, user, await ctx.store.listWorkspaceOverrides(org.id));
  });

  app.delete('/orgs/:org/members/:user', permit('member.remove', 'member-param'), async (request) => {
    const { org, user } = await memberOf(request);
    const membership = await ctx.store.findMembership(org.id, user.id);
    await ctx.store.deleteMembership(org.id, user.id);
    await ctx.audit.record({
      action: 'member.removed',
      actor: actorOf(request),
      orgId: org.id,
      targetId: user.id,
      details: { role: membership?.role ?? null },
    });
    return { removed: true, orgId: org.id, userId: user.id } satisfies MemberRemovedJson;
  });

  app.get('/invitations', permit('invitation.list'), async (request) => {
    const { actor } = authorizedOf(request);
    const user =
      actor.kind === 'personal' || actor.kind === 'session' || actor.kind === 'admin-token' ? actor.user : undefined;
    if (user === undefined || (actor.kind === 'personal' && actor.boundWorkspaceId !== null)) return [];
    const orgs = new Map((await ctx.store.listOrganisations()).map((o) => [o.id, o]));
    const now = ctx.clock().getTime();
    return (await ctx.store.tenancy.listOpenInvitations({ userId: user.id }))
      .filter((i) => Date.parse(i.expiresAt) > now)
      .map((i) => presentInvitation(i, orgs.get(i.orgId), user));
  });

  for (const answer of ['accept', 'decline'] as const) {
    app.post(`/invitations/:id/${answer}`, permit('invitation.answer', 'invitation-param'), async (request) => {
      const { invitation } = resourceOf(request, 'invitation');
      const membership = await answerInvitation(ctx, invitation, answer === 'accept', actorOf(request));
      return {
        id: invitation.id,
        orgId: invitation.orgId,
        accepted: answer === 'accept',
        role: membership?.role ?? null,
      } satisfies InvitationAnswerJson;
    });
  }
}
