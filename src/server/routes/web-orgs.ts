/** Organisation pages: members (invite, remove, roles, bots and their machine tokens), workspaces, every token, the audit log. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { isOrgAdmin, requireOrgAdmin } from '../auth/admin-caller';
import { newUserId } from '../ids';
import type { Organisation, TokenRecord, User } from '../metadata/records';
import { auditPage, inviteCreatedPage, membersPage, orgListPage, orgWorkspacesPage } from '../web/pages/org-pages';
import { tokenTable } from '../web/pages/token-pages';
import { html } from '../web/html';
import { orgTabs, page } from '../web/layout';
import { formField, requirePostFromSession, requireViewer, type WebViewer } from '../web/web-guards';
import { noticeFromQuery, withDone } from '../web/web-notices';
import { Name, parseInput } from './admin-input';
import { requireOrganisation, requireUser } from './admin-lookups';
import { canManageToken } from './admin-tokens';
import type { WebRouteDeps } from './web';
import { requireFreshForm, sendCreated, serverUrlOf, tokenRows } from './web-tokens';

const Role = z.enum(['admin', 'member']);
const TokenAccess = z.enum(['read', 'read-write']);

export async function webOrgRoutes(app: FastifyInstance, deps: WebRouteDeps): Promise<void> {
  const { ctx, web } = deps;
  const actorOf = (viewer: WebViewer) => ({ tokenId: null, userId: viewer.user.id });
  const orgOf = async (request: FastifyRequest): Promise<Organisation> => requireOrganisation(ctx.store, (request.params as { org: string }).org);
  const adminOrg = async (request: FastifyRequest, viewer: WebViewer, action: string): Promise<Organisation> => {
    const org = await orgOf(request);
    await requireOrgAdmin(ctx.store, viewer, org.id, action);
    return org;
  };
  const memberOf = async (org: Organisation, request: FastifyRequest): Promise<User> => {
    const user = await requireUser(ctx.store, (request.params as { user: string }).user);
    if ((await ctx.store.findMembership(org.id, user.id)) === undefined) throw new SealedCacheError('ERR_MEMBER_NOT_FOUND', `${user.name} is not a member of ${org.name}`);
    return user;
  };
  const membersUrl = (org: Organisation) => `/ui/orgs/${encodeURIComponent(org.name)}/members`;

  app.get('/ui/orgs', async (request, reply) => {
    const viewer = requireViewer(request);
    const memberships = await ctx.store.listUserMemberships(viewer.user.id);
    const orgs: { org: Organisation; role: string }[] = [];
    for (const org of await ctx.store.listOrganisations()) {
      const m = memberships.find((x) => x.orgId === org.id);
      if (m !== undefined) orgs.push({ org, role: m.role });
      else if (viewer.serverAdmin) orgs.push({ org, role: 'admin' });
    }
    return reply.type('text/html; charset=utf-8').send(orgListPage(viewer, orgs));
  });

  app.get('/ui/orgs/:org', async (request, reply) => reply.redirect(`/ui/orgs/${encodeURIComponent((request.params as { org: string }).org)}/members`, 303));

  app.get('/ui/orgs/:org/members', async (request, reply) => {
    const viewer = requireViewer(request);
    const org = await adminOrg(request, viewer, 'manage members');
    const users = await ctx.store.listUsers();
    const rows = (await ctx.store.listMemberships(org.id)).map((membership) => ({ membership, user: users.find((u) => u.id === membership.userId) }));
    return reply.type('text/html; charset=utf-8').send(membersPage(viewer, org, rows, web.formOnce.issue(), noticeFromQuery(request.query)));
  });

  app.post('/ui/orgs/:org/invites', async (request, reply) => {
    const viewer = requirePostFromSession(request);
    const org = await adminOrg(request, viewer, 'invite members');
    const role = parseInput(Role, formField(request, 'role'), 'role');
    requireFreshForm(deps, viewer, request);
    const { code, expiresAt } = await web.accounts.createInvite(org, role, actorOf(viewer));
    return reply.type('text/html; charset=utf-8').send(inviteCreatedPage(viewer, org, `${serverUrlOf(request)}/ui/invite/${code}`, role, expiresAt));
  });

  app.post('/ui/orgs/:org/members/:user/remove', async (request, reply) => {
    const viewer = requirePostFromSession(request);
    const org = await adminOrg(request, viewer, 'remove members');
    const user = await memberOf(org, request);
    const membership = await ctx.store.findMembership(org.id, user.id);
    await ctx.store.deleteMembership(org.id, user.id);
    await ctx.audit.record({ action: 'member.removed', actor: actorOf(viewer), orgId: org.id, targetId: user.id, details: { role: membership?.role ?? null, via: 'web' } });
    return reply.redirect(withDone(membersUrl(org), 'member-removed'), 303);
  });

  app.post('/ui/orgs/:org/members/:user/role', async (request, reply) => {
    const viewer = requirePostFromSession(request);
    const org = await adminOrg(request, viewer, 'change members');
    const user = await memberOf(org, request);
    const role = parseInput(Role, formField(request, 'role'), 'role');
    const before = await ctx.store.findMembership(org.id, user.id);
    await ctx.store.setMemberRole(org.id, user.id, role);
    await ctx.audit.record({ action: 'member.changed', actor: actorOf(viewer), orgId: org.id, targetId: user.id, details: { before: { role: before?.role ?? null }, role, access: null, via: 'web' } });
    return reply.redirect(withDone(membersUrl(org), 'role-changed'), 303);
  });

  app.post('/ui/orgs/:org/bots', async (request, reply) => {
    const viewer = requirePostFromSession(request);
    const org = await adminOrg(request, viewer, 'add bot users');
    const name = parseInput(Name, formField(request, 'name'), 'bot name');
    const bot: User = { id: newUserId(), name, bot: true, serverAdmin: false, createdAt: ctx.clock().toISOString() };
    if ((await ctx.store.insertUser(bot)) === 'exists') throw new SealedCacheError('ERR_USER_EXISTS', `a user named "${name}" already exists`);
    await ctx.store.insertMembership({ orgId: org.id, userId: bot.id, role: 'member', createdAt: bot.createdAt });
    await ctx.audit.record({ action: 'member.added', actor: actorOf(viewer), orgId: org.id, targetId: bot.id, details: { role: 'member', bot: true, via: 'web' } });
    return reply.redirect(withDone(membersUrl(org), 'bot-added'), 303);
  });

  app.post('/ui/orgs/:org/bots/:user/tokens', async (request, reply) => {
    const viewer = requirePostFromSession(request);
    const org = await adminOrg(request, viewer, 'issue machine tokens');
    const bot = await memberOf(org, request);
    if (!bot.bot) throw new SealedCacheError('ERR_INPUT_INVALID', `${bot.name} is not a bot user; people create their own tokens`);
    const access = parseInput(TokenAccess, formField(request, 'access'), 'access');
    requireFreshForm(deps, viewer, request);
    const spec = { kind: 'personal' as const, name: `machine token for ${bot.name}`, workspaceId: null, userId: bot.id, access, expiresIn: '1y' };
    if (!(await canManageToken(ctx, viewer, spec))) throw new SealedCacheError('ERR_AUTH_FORBIDDEN', 'you may not create tokens for this bot');
    const issued = await ctx.tokens.issue(spec, actorOf(viewer), org.id);
    return sendCreated(reply, request, viewer, issued, undefined, false, membersUrl(org));
  });

  app.get('/ui/orgs/:org/workspaces', async (request, reply) => {
    const viewer = requireViewer(request);
    const org = await orgOf(request);
    const admin = await isOrgAdmin(ctx.store, viewer, org.id);
    if (!admin && (await ctx.store.findMembership(org.id, viewer.user.id)) === undefined) throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `only members of ${org.name} may see its workspaces`);
    return reply.type('text/html; charset=utf-8').send(orgWorkspacesPage(viewer, org, await ctx.store.listWorkspaces(org.id), admin));
  });

  app.get('/ui/orgs/:org/tokens', async (request, reply) => {
    const viewer = requireViewer(request);
    const org = await adminOrg(request, viewer, "manage the organisation's tokens");
    const seen = new Map<string, TokenRecord>();
    for (const ws of await ctx.store.listWorkspaces(org.id)) for (const t of await ctx.store.listTokens({ workspaceId: ws.id })) seen.set(t.id, t);
    for (const m of await ctx.store.listMemberships(org.id)) for (const t of await ctx.store.listTokens({ userId: m.userId })) if (t.kind !== 'admin') seen.set(t.id, t);
    const visible: TokenRecord[] = [];
    for (const t of seen.values()) if (await canManageToken(ctx, viewer, t)) visible.push(t);
    const back = `/ui/orgs/${encodeURIComponent(org.name)}/tokens`;
    const table = tokenTable(await tokenRows(deps, visible), { viewer, nonce: web.formOnce.issue(), back, caption: `Tokens you can manage in ${org.name}`, showOwner: true, now: ctx.clock() });
    const body = html`<h1>${org.name}: Tokens</h1>${orgTabs(org.name, 'tokens')}<p class="lead">Personal, machine and CI tokens for this organisation's workspaces. Rotate or delete any of them on the owner's behalf.</p>${table}`;
    return reply.type('text/html; charset=utf-8').send(page({ title: `Tokens · ${org.name}`, viewer, active: 'orgs', notice: noticeFromQuery(request.query) }, body));
  });

  app.get('/ui/orgs/:org/audit', async (request, reply) => {
    const viewer = requireViewer(request);
    const org = await adminOrg(request, viewer, 'read the audit log');
    const events = await ctx.store.listAudit({ orgId: org.id, limit: 200 });
    const names = new Map<string, string>();
    for (const u of await ctx.store.listUsers()) names.set(u.id, u.name);
    return reply.type('text/html; charset=utf-8').send(auditPage(viewer, org, events, names));
  });
}
