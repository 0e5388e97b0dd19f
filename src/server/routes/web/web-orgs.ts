/** Organisation pages: members (invite, remove, roles, bots and their machine tokens), workspaces, every token, the audit log; and the user's own invitations. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { auditActorOf } from '../../auth/actors';
import { resolveAuditNames } from '../../services/audit-names';
import { authorizedOf, pagePermit, resourceOf } from '../../auth/route-policy';
import { newUserId } from '../../ids';
import type { Organisation, TokenRecord, User } from '../../metadata/records';
import { addMemberDirectly, answerInvitation, inviteUser } from '../../services/invitations';
import { auditPage, inviteCreatedPage, membersPage, orgListPage, orgWorkspacesPage } from '../../web/pages/org-pages';
import { tokenTable } from '../../web/pages/token-pages';
import { html } from '../../web/html';
import { orgTabs, page } from '../../web/layout';
import { formField, requireViewer } from '../../web/web-guards';
import { noticeFromQuery, withDone } from '../../web/web-notices';
import { Name, parseInput } from '../../input/request-input';
import type { WebRouteDeps } from './web-routes';
import { requireFreshForm, sendCreated, serverUrlOf, tokenRows } from './web-tokens';

const Role = z.enum(['admin', 'member']);
const TokenAccess = z.enum(['read', 'read-write']);

export async function webOrgRoutes(app: FastifyInstance, deps: WebRouteDeps): Promise<void> {
  const { ctx, web } = deps;
  const actorOf = (request: FastifyRequest) => auditActorOf(authorizedOf(request).actor);
  const orgOf = (request: FastifyRequest): Organisation => resourceOf(request, 'org').org;
  const memberOf = async (request: FastifyRequest): Promise<{ org: Organisation; user: User }> => {
    const { org, user } = resourceOf(request, 'member');
    if ((await ctx.store.findMembership(org.id, user.id)) === undefined)
      throw new SealedCacheError('ERR_MEMBER_NOT_FOUND', `${user.name} is not a member of ${org.name}`);
    return { org, user };
  };
  const membersUrl = (org: Organisation) => `/ui/orgs/${encodeURIComponent(org.name)}/members`;

  app.get('/ui/orgs', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { may } = authorizedOf(request);
    const memberships = await ctx.store.listUserMemberships(viewer.user.id);
    const orgs: { org: Organisation; role: string }[] = [];
    const names = new Map<string, string>();
    for (const org of await ctx.store.listOrganisations()) {
      names.set(org.id, org.name);
      const m = memberships.find((x) => x.orgId === org.id);
      if (m !== undefined) orgs.push({ org, role: m.role });
      else if (await may('member.list', { kind: 'org', org })) orgs.push({ org, role: 'admin' });
    }
    const now = ctx.clock().getTime();
    const invitations = (await ctx.store.tenancy.listOpenInvitations({ userId: viewer.user.id }))
      .filter((i) => Date.parse(i.expiresAt) > now)
      .map((i) => ({ id: i.id, orgName: names.get(i.orgId) ?? i.orgId, role: i.role, expiresAt: i.expiresAt }));
    return reply
      .type('text/html; charset=utf-8')
      .send(orgListPage(viewer, orgs, invitations, noticeFromQuery(request.query)));
  });

  for (const answer of ['accept', 'decline'] as const) {
    app.post(
      `/ui/invitations/:id/${answer}`,
      pagePermit('invitation.answer', 'invitation-param'),
      async (request, reply) => {
        await answerInvitation(
          ctx,
          resourceOf(request, 'invitation').invitation,
          answer === 'accept',
          actorOf(request),
        );
        return reply.redirect(
          withDone('/ui/orgs', answer === 'accept' ? 'invitation-accepted' : 'invitation-declined'),
          303,
        );
      },
    );
  }

  app.get('/ui/orgs/:org', pagePermit('session.self'), async (request, reply) =>
    reply.redirect(`/ui/orgs/${encodeURIComponent((request.params as { org: string }).org)}/members`, 303),
  );

  app.get('/ui/orgs/:org/members', pagePermit('member.list', 'org-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const org = orgOf(request);
    const users = await ctx.store.listUsers();
    const rows = (await ctx.store.listMemberships(org.id)).map((membership) => ({
      membership,
      user: users.find((u) => u.id === membership.userId),
    }));
    return reply
      .type('text/html; charset=utf-8')
      .send(
        membersPage(
          viewer,
          org,
          rows,
          web.formOnce.issue(),
          noticeFromQuery(request.query),
          await ctx.store.listWorkspaces(org.id),
        ),
      );
  });

  app.post('/ui/orgs/:org/invites', pagePermit('invite.create', 'org-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const org = orgOf(request);
    const role = parseInput(Role, formField(request, 'role'), 'role');
    await requireFreshForm(deps, viewer, request);
    const { code, expiresAt } = await web.accounts.createInvite(org, role, actorOf(request));
    return reply
      .type('text/html; charset=utf-8')
      .send(inviteCreatedPage(viewer, org, `${serverUrlOf(request)}/ui/invite/${code}`, role, expiresAt));
  });

  /** An existing user: an invitation they accept (server admins add at once). */
  app.post('/ui/orgs/:org/members/add', pagePermit('member.add', 'member-body'), async (request, reply) => {
    const { org, user } = resourceOf(request, 'member');
    const role = parseInput(Role, formField(request, 'role') ?? 'member', 'role');
    if (authorizedOf(request).directly) {
      await addMemberDirectly(ctx, org, user, role, actorOf(request));
      return reply.redirect(withDone(membersUrl(org), 'member-added'), 303);
    }
    await inviteUser(ctx, org, user, role, actorOf(request));
    return reply.redirect(withDone(membersUrl(org), 'user-invited'), 303);
  });

  app.post(
    '/ui/orgs/:org/members/:user/remove',
    pagePermit('member.remove', 'member-param'),
    async (request, reply) => {
      const { org, user } = await memberOf(request);
      const membership = await ctx.store.findMembership(org.id, user.id);
      await ctx.store.deleteMembership(org.id, user.id);
      await ctx.audit.record({
        action: 'member.removed',
        actor: actorOf(request),
        orgId: org.id,
        targetId: user.id,
        details: { role: membership?.role ?? null, via: 'web' },
      });
      return reply.redirect(withDone(membersUrl(org), 'member-removed'), 303);
    },
  );

  app.post('/ui/orgs/:org/members/:user/role', pagePermit('member.change', 'member-param'), async (request, reply) => {
    const { org, user } = await memberOf(request);
    const role = parseInput(Role, formField(request, 'role'), 'role');
    const before = await ctx.store.findMembership(org.id, user.id);
    await ctx.store.setMemberRole(org.id, user.id, role);
    await ctx.audit.record({
      action: 'member.changed',
      actor: actorOf(request),
      orgId: org.id,
      targetId: user.id,
      details: { before: { role: before?.role ?? null }, role, access: null, via: 'web' },
    });
    return reply.redirect(withDone(membersUrl(org), 'role-changed'), 303);
  });

  app.post('/ui/orgs/:org/bots', pagePermit('bot.create', 'org-param'), async (request, reply) => {
    const org = orgOf(request);
    const name = parseInput(Name, formField(request, 'name'), 'bot name');
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
      details: { role: 'member', bot: true, via: 'web' },
    });
    return reply.redirect(withDone(membersUrl(org), 'bot-added'), 303);
  });

  /** A machine token for a bot this organisation owns, bound to one of its workspaces (the policy checks both). */
  app.post('/ui/orgs/:org/bots/:user/tokens', pagePermit('token.create', 'web-bot-token'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { spec } = resourceOf(request, 'new-token');
    const org = await ctx.store.findOrganisation((request.params as { org: string }).org);
    const bot = spec.userId === null ? undefined : await ctx.store.findUser(spec.userId);
    if (org === undefined || bot === undefined || !bot.bot || bot.ownerOrgId !== org.id)
      throw new SealedCacheError('ERR_MEMBER_NOT_FOUND', 'no such bot in this organisation');
    const access = parseInput(TokenAccess, formField(request, 'access'), 'access');
    await requireFreshForm(deps, viewer, request);
    const workspace = spec.workspaceId === null ? undefined : await ctx.store.findWorkspace(spec.workspaceId);
    const issued = await ctx.tokens.issue(
      {
        kind: 'personal',
        name: `machine token for ${bot.name}`,
        workspaceId: spec.workspaceId,
        userId: bot.id,
        access,
        expiresIn: '1y',
        tier: spec.tier,
      },
      actorOf(request),
      org.id,
    );
    return sendCreated(reply, request, viewer, issued, workspace, false, membersUrl(org));
  });

  app.get('/ui/orgs/:org/workspaces', pagePermit('workspace.read', 'org-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const org = orgOf(request);
    const admin = await authorizedOf(request).may('workspace.create', { kind: 'org', org });
    return reply
      .type('text/html; charset=utf-8')
      .send(orgWorkspacesPage(viewer, org, await ctx.store.listWorkspaces(org.id), admin));
  });

  app.get('/ui/orgs/:org/tokens', pagePermit('member.list', 'org-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const org = orgOf(request);
    const { may } = authorizedOf(request);
    const seen = new Map<string, TokenRecord>();
    for (const ws of await ctx.store.listWorkspaces(org.id))
      for (const t of await ctx.store.listTokens({ workspaceId: ws.id })) seen.set(t.id, t);
    for (const m of await ctx.store.listMemberships(org.id))
      for (const t of await ctx.store.listTokens({ userId: m.userId })) if (t.kind !== 'admin') seen.set(t.id, t);
    const visible: TokenRecord[] = [];
    for (const token of seen.values()) if (await may('token.manage', { kind: 'token', token })) visible.push(token);
    const back = `/ui/orgs/${encodeURIComponent(org.name)}/tokens`;
    const table = tokenTable(await tokenRows(deps, visible), {
      viewer,
      nonce: web.formOnce.issue(),
      back,
      caption: `Tokens you can manage in ${org.name}`,
      showOwner: true,
      now: ctx.clock(),
    });
    const body = html`<h1>${org.name}: Tokens</h1>${orgTabs(org.name, 'tokens')}<p class="lead">CI tokens of this organisation's workspaces, its bots' machine tokens, and members' tokens bound to its workspaces. Rotate or delete any of them on the owner's behalf.</p>${table}`;
    return reply
      .type('text/html; charset=utf-8')
      .send(
        page({ title: `Tokens · ${org.name}`, viewer, active: 'orgs', notice: noticeFromQuery(request.query) }, body),
      );
  });

  app.get('/ui/orgs/:org/audit', pagePermit('audit.read', 'org-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const org = orgOf(request);
    const events = await ctx.store.listAudit({ orgId: org.id, limit: 200 });
    const names = await resolveAuditNames(ctx.store, events, org.id);
    return reply.type('text/html; charset=utf-8').send(auditPage(viewer, org, events, names));
  });
}
