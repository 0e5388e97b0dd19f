/** The policy alone (plain facts, no server), and the layer's refusal to register an undeclared route. */
import Fastify from 'fastify';
import type { Actor } from '../../../src/server/auth/actors';
import { decide, type PolicyFacts, type Resource, RULES, ACTIONS } from '../../../src/server/auth/policy';
import { registerRoutePolicy } from '../../../src/server/auth/route-policy';
import type { Membership, Organisation, TokenRecord, User, Workspace } from '../../../src/server/metadata/records';

const org = (id: string): Organisation => ({ id, name: id, public: false, createdAt: '' });
const ws = (id: string, orgId: string): Workspace => ({
  id,
  orgId,
  name: id,
  anonymousAccess: 'none',
  memberDefaultAccess: 'read',
  personalTokenTier: 'isolated',
  isolatedRetention: '7d',
  createdAt: '',
});
const user = (id: string, extra: Partial<User> = {}): User => ({
  id,
  name: id,
  bot: false,
  serverAdmin: false,
  ownerOrgId: null,
  createdAt: '',
  ...extra,
});
const token = (id: string, extra: Partial<TokenRecord>): TokenRecord => ({
  id,
  kind: 'personal',
  name: null,
  tokenHash: '',
  workspaceId: null,
  userId: null,
  access: 'read-write',
  tier: null,
  scope: null,
  createdAt: '',
  createdByTokenId: null,
  expiresAt: null,
  revokedAt: null,
  rotatedAt: null,
  lastUsedAt: null,
  ...extra,
});

const orgA = org('org_A');
const orgB = org('org_B');
const wsA = ws('ws_A', orgA.id);
const wsB = ws('ws_B', orgB.id);
const users = new Map<string, User>([
  ['alice', user('alice')],
  ['mallory', user('mallory')],
  ['root', user('root', { serverAdmin: true })],
  ['a-bot', user('a-bot', { bot: true, ownerOrgId: orgA.id })],
  ['stray-bot', user('stray-bot', { bot: true })],
]);
const memberships: Membership[] = [
  { orgId: orgA.id, userId: 'alice', role: 'admin', createdAt: '' },
  { orgId: orgB.id, userId: 'mallory', role: 'admin', createdAt: '' },
  { orgId: orgA.id, userId: 'a-bot', role: 'member', createdAt: '' },
];
const facts: PolicyFacts = {
  membership: async (orgId, userId) => memberships.find((m) => m.orgId === orgId && m.userId === userId),
  workspace: async (id) => [wsA, wsB].find((w) => w.id === id),
  user: async (id) => users.get(id),
};
const u = (name: string): User => users.get(name) as User;
const personal = (name: string, bound: string | null = null): Actor => ({
  kind: 'personal',
  user: u(name),
  token: token(`tok_${name}`, { userId: name, workspaceId: bound }),
  boundWorkspaceId: bound,
});

describe('the authorization policy', () => {
  it('has a rule, in words, for every action', () => {
    for (const action of ACTIONS) expect(RULES[action].who.length).toBeGreaterThan(5);
  });

  it('never gives server-admin rights to a user name, a personal token or a minted token', async () => {
    const serverLevel: Resource = { kind: 'none' };
    const named = personal('root');
    expect((await decide(named, 'user.list', serverLevel, facts)).allowed).toBe(false);
    expect(
      (
        await decide(
          { kind: 'ci', token: token('tok_m', { kind: 'ci', workspaceId: wsA.id, scope: 'pr-1' }) },
          'user.list',
          serverLevel,
          facts,
        )
      ).allowed,
    ).toBe(false);
    expect((await decide({ kind: 'session', user: u('root') }, 'user.list', serverLevel, facts, 'web')).allowed).toBe(
      true,
    );
    expect((await decide({ kind: 'session', user: u('alice') }, 'user.list', serverLevel, facts, 'web')).allowed).toBe(
      false,
    );
  });

  it('an org admin creates personal tokens only for bots his organisation owns, bound inside it', async () => {
    const spec = (userId: string, workspaceId: string | null): Resource => ({
      kind: 'new-token',
      spec: { kind: 'personal', userId, workspaceId, tier: null },
    });
    expect(await decide(personal('mallory'), 'token.create', spec('alice', wsB.id), facts)).toMatchObject({
      allowed: false,
      code: 'ERR_AUTH_FORBIDDEN',
    });
    expect(await decide(personal('mallory'), 'token.create', spec('a-bot', wsB.id), facts)).toMatchObject({
      allowed: false,
    });
    expect(await decide(personal('alice'), 'token.create', spec('a-bot', wsA.id), facts)).toMatchObject({
      allowed: true,
    });
    expect(await decide(personal('alice'), 'token.create', spec('a-bot', null), facts)).toMatchObject({
      allowed: false,
    });
    expect(await decide(personal('alice'), 'token.create', spec('a-bot', wsB.id), facts)).toMatchObject({
      allowed: false,
    });
  });

  it('a bound token never acts outside its workspace', async () => {
    const bound = personal('alice', wsA.id);
    expect((await decide(bound, 'workspace.change', { kind: 'workspace', workspace: wsA }, facts)).allowed).toBe(true);
    expect((await decide(bound, 'member.list', { kind: 'org', org: orgA }, facts)).allowed).toBe(false);
    expect(
      (
        await decide(
          bound,
          'token.create',
          { kind: 'new-token', spec: { kind: 'personal', userId: 'alice', workspaceId: null, tier: null } },
          facts,
        )
      ).allowed,
    ).toBe(false);
    expect(
      (await decide(bound, 'token.manage', { kind: 'token', token: token('tok_other', { userId: 'alice' }) }, facts))
        .allowed,
    ).toBe(false);
    expect((await decide(bound, 'account.set-password', { kind: 'user', user: u('alice') }, facts)).allowed).toBe(
      false,
    );
  });

  it("org admins manage their bots' and their CI tokens, not another organisation's, nor a member's unbound token", async () => {
    const botToken = token('tok_bot', { userId: 'a-bot', workspaceId: wsA.id, tier: 'trusted' });
    expect((await decide(personal('alice'), 'token.manage', { kind: 'token', token: botToken }, facts)).allowed).toBe(
      true,
    );
    expect((await decide(personal('mallory'), 'token.manage', { kind: 'token', token: botToken }, facts)).allowed).toBe(
      false,
    );
    expect(
      (
        await decide(
          personal('mallory'),
          'token.manage',
          { kind: 'token', token: token('tok_ci', { kind: 'ci', workspaceId: wsA.id }) },
          facts,
        )
      ).allowed,
    ).toBe(false);
    expect(
      (
        await decide(
          personal('mallory'),
          'token.manage',
          { kind: 'token', token: token('tok_ci', { kind: 'ci', workspaceId: wsB.id }) },
          facts,
        )
      ).allowed,
    ).toBe(true);
    expect(
      (
        await decide(
          personal('alice'),
          'token.manage',
          { kind: 'token', token: token('tok_m', { userId: 'a-bot', workspaceId: null }) },
          facts,
        )
      ).allowed,
    ).toBe(true);
    memberships.push({ orgId: orgB.id, userId: 'alice', role: 'member', createdAt: '' });
    expect(
      (
        await decide(
          personal('mallory'),
          'token.manage',
          { kind: 'token', token: token('tok_alice', { userId: 'alice' }) },
          facts,
        )
      ).allowed,
    ).toBe(false);
    expect(
      (
        await decide(
          personal('mallory'),
          'token.manage',
          { kind: 'token', token: token('tok_alice_b', { userId: 'alice', workspaceId: wsB.id }) },
          facts,
        )
      ).allowed,
    ).toBe(true);
    memberships.pop();
  });

  it('member.add: org admins only invite people; bots join only the organisation that owns them', async () => {
    expect(
      await decide(personal('mallory'), 'member.add', { kind: 'member', org: orgB, user: u('alice') }, facts),
    ).toEqual({ allowed: true, directly: false });
    expect(
      await decide(
        { kind: 'admin-token', token: token('tok_adm', { kind: 'admin' }), user: undefined },
        'member.add',
        { kind: 'member', org: orgB, user: u('alice') },
        facts,
      ),
    ).toEqual({ allowed: true, directly: true });
    expect(
      await decide(personal('mallory'), 'member.add', { kind: 'member', org: orgB, user: u('a-bot') }, facts),
    ).toMatchObject({ allowed: false });
    expect(
      await decide(personal('mallory'), 'member.add', { kind: 'member', org: orgB, user: u('stray-bot') }, facts),
    ).toMatchObject({ allowed: false });
  });

  it('answers each refusal with a stable code: no credential, wrong kind, no session', async () => {
    expect(await decide({ kind: 'anonymous' }, 'member.list', { kind: 'org', org: orgA }, facts)).toMatchObject({
      code: 'ERR_AUTH_TOKEN_MISSING',
    });
    expect(await decide({ kind: 'anonymous' }, 'member.list', { kind: 'org', org: orgA }, facts, 'web')).toMatchObject({
      code: 'ERR_WEB_SESSION_REQUIRED',
    });
    expect(
      await decide(
        { kind: 'ci', token: token('tok_ci', { kind: 'ci', workspaceId: wsA.id }) },
        'member.list',
        { kind: 'org', org: orgA },
        facts,
      ),
    ).toMatchObject({ code: 'ERR_AUTH_TOKEN_KIND_REFUSED' });
  });
});

describe('the authorization layer', () => {
  const deps = {
    store: {} as never,
    credentials: {} as never,
    audit: {} as never,
    loadSession: async () => undefined,
    checkSessionPost: () => undefined,
  };

  it('refuses to start with a route that declares no permission', async () => {
    const app = Fastify();
    registerRoutePolicy(app, deps);
    app.register(async (scope) => {
      scope.get('/forgotten', async () => 'oops');
    });
    await expect(app.ready()).rejects.toMatchObject({ code: 'ERR_ROUTE_UNDECLARED' });
  });

  it("refuses the old `auth: 'public'` declaration: nothing is public without naming its action", () => {
    const app = Fastify();
    registerRoutePolicy(app, deps);
    expect(() => app.get('/old-style', { config: { auth: 'public' } as never }, async () => 'x')).toThrow(
      expect.objectContaining({ code: 'ERR_ROUTE_UNDECLARED' }),
    );
  });

  it('refuses a route that reads no credential for an action that is not open to anyone', () => {
    const app = Fastify();
    registerRoutePolicy(app, deps);
    expect(() =>
      app.get('/sneaky', { config: { permission: { action: 'user.list', via: 'none' } } }, async () => 'x'),
    ).toThrow(expect.objectContaining({ code: 'ERR_ROUTE_UNDECLARED' }));
  });

  it('lists every route it accepted with its declaration', async () => {
    const app = Fastify();
    const routes = registerRoutePolicy(app, deps);
    app.get('/healthz', { config: { permission: { action: 'server.probe', via: 'none' } } }, async () => 'ok');
    await app.ready();
    expect(routes).toEqual([{ method: 'GET', url: '/healthz', permission: { action: 'server.probe', via: 'none' } }]);
    await app.close();
  });
});
