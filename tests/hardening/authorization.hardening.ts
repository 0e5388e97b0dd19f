/**
 * Authorization: an organisation's admin (mallory, of org B) attacks org A and the server through every
 * front door: the admin API with his own, a bound, a planted and a minted token; the web page with his
 * session; his session cookie on the API; and a route shipped without a permission. Held: refused with a
 * policy code (401/403), org A and the server unchanged afterwards, refusals in the audit log.
 */
import Fastify from 'fastify';
import { request } from 'undici';
import { csrfTokenFor, SESSION_COOKIE, SessionService } from '../../src/server/auth/sessions';
import { registerRoutePolicy } from '../../src/server/auth/route-policy';
import { setPasswordInStore } from '../../src/server/offline-password';
import { AreaRecord } from './support/area-record';
import {
  NO_LIMITS,
  adminApi,
  dataDirIn,
  startHardeningServer,
  supportedOptions,
  type HardeningServer,
} from './support/hardening-server';
import { createSandbox, type Sandbox } from './support/sandbox';

const record = new AreaRecord('Authorization', __filename);
const PASSWORD = 'a long and careful passphrase';
const REFUSALS = new Set([
  'ERR_AUTH_FORBIDDEN',
  'ERR_AUTH_TOKEN_MISSING',
  'ERR_AUTH_TOKEN_KIND_REFUSED',
  'ERR_AUTH_WORKSPACE_MISMATCH',
  'ERR_WEB_SESSION_REQUIRED',
  'ERR_AUTH_NOT_MEMBER',
]);

let sandbox: Sandbox;
let ts: HardeningServer;
const ids: Record<string, string> = {};
const tokens: Record<string, string> = {};
let mallorySession: string;

interface Answer {
  status: number;
  text: string;
}

async function call(
  method: string,
  path: string,
  init: { token?: string; body?: unknown; cookie?: string; form?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.cookie !== undefined) headers.cookie = `${SESSION_COOKIE}=${init.cookie}`;
  let body: string | undefined;
  if (init.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams({
      ...init.form,
      ...(init.cookie === undefined ? {} : { csrf: csrfTokenFor(init.cookie) }),
    }).toString();
  } else if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const response = await request(`${ts.url}${path}`, { method: method as 'GET', headers, body });
  return { status: response.statusCode, text: await response.body.text() };
}

/** Held when the answer is a policy refusal; anything else (success, 404, 400) is the reason it was not. */
function refusal(answer: Answer): string | undefined {
  const code = /\b(ERR_[A-Z_]+)\b/.exec(answer.text)?.[1];
  if ((answer.status === 401 || answer.status === 403) && code !== undefined && REFUSALS.has(code)) return undefined;
  return `answered ${answer.status} ${answer.text.slice(0, 120)}`;
}

const api = <T>(method: string, path: string, body?: unknown, token = ts.adminToken): Promise<T> =>
  adminApi<T>(ts.url, token, method, path, body);

beforeAll(async () => {
  sandbox = createSandbox('authorization');
  ts = await startHardeningServer(dataDirIn(sandbox.root), supportedOptions(NO_LIMITS));
  for (const org of ['org-a', 'org-b']) ids[org] = (await api<{ id: string }>('POST', '/orgs', { name: org })).id;
  ids.wsA = (
    await api<{ id: string }>('POST', '/workspaces', { org: 'org-a', name: 'mono', memberDefaultAccess: 'read-write' })
  ).id;
  ids.wsB = (await api<{ id: string }>('POST', '/workspaces', { org: 'org-b', name: 'mono' })).id;
  for (const user of ['alice', 'carol', 'mallory'])
    ids[user] = (await api<{ id: string }>('POST', '/users', { name: user })).id;
  await api('POST', '/orgs/org-a/members', { user: 'alice', role: 'admin' });
  await api('POST', '/orgs/org-a/members', { user: 'carol', role: 'member' });
  await api('POST', '/orgs/org-b/members', { user: 'mallory', role: 'admin' });
  ids.aBot = (await api<{ id: string }>('POST', '/users', { name: 'a-bot', bot: true, org: 'org-a' })).id;
  ids.strayBot = (await api<{ id: string }>('POST', '/users', { name: 'stray-bot', bot: true })).id;
  tokens.mallory = (await api<{ token: string }>('POST', '/tokens', { kind: 'personal', user: 'mallory' })).token;
  tokens.malloryBound = (
    await api<{ token: string }>('POST', '/tokens', { kind: 'personal', user: 'mallory', workspaceId: ids.wsB })
  ).token;
  tokens.bCi = (
    await api<{ token: string }>('POST', '/tokens', {
      kind: 'ci',
      workspaceId: ids.wsB,
      access: 'read-write',
      tier: 'trusted',
    })
  ).token;
  tokens.bMinted = (await api<{ token: string }>('POST', '/tokens/mint', { scope: 'pr-1' }, tokens.bCi)).token;
  const aCi = await api<{ id: string; token: string }>('POST', '/tokens', {
    kind: 'ci',
    workspaceId: ids.wsA,
    access: 'read-write',
    tier: 'trusted',
  });
  ids.aCi = aCi.id;
  tokens.aMinted = (await api<{ token: string }>('POST', '/tokens/mint', { scope: 'pr-2' }, aCi.token)).token;
  const bot = await api<{ id: string; token: string }>('POST', '/tokens', {
    kind: 'personal',
    user: 'a-bot',
    workspaceId: ids.wsA,
    tier: 'trusted',
    access: 'read-write',
  });
  ids.aBotToken = bot.id;
  tokens.aBot = bot.token;
  const alice = await api<{ id: string; token: string }>('POST', '/tokens', { kind: 'personal', user: 'alice' });
  ids.aliceToken = alice.id;
  tokens.alice = alice.token;
  // A token the old server let org-b's admin make: alice's, bound to org-b's workspace.
  tokens.planted = (
    await ts.server.context.tokens.issue(
      {
        kind: 'personal',
        name: 'planted',
        workspaceId: ids.wsB,
        userId: ids.alice,
        access: 'read-write',
        expiresIn: '1y',
      },
      { tokenId: null, userId: null },
      null,
    )
  ).secret;
  await setPasswordInStore(ts.server.context.store, 'mallory', PASSWORD, () => ts.clock.now);
  mallorySession = (await new SessionService(ts.server.context.store.webAuth, () => ts.clock.now).create(ids.mallory))
    .sessionId;
});

afterAll(async () => {
  await ts?.stop();
  sandbox?.dispose();
  record.flush();
});

it('an org admin cannot mint identities: personal tokens for other users, passwords, server-admin rights', async () => {
  const since = record.failures.length;
  for (const victim of ['admin', 'alice', 'carol', 'a-bot', 'stray-bot']) {
    for (const [where, workspaceId] of [
      ['bound to his own workspace', ids.wsB],
      ["bound to the victim's workspace", ids.wsA],
      ['unbound', undefined],
    ] as const) {
      await record.check(`personal token for ${victim}, ${where}`, async () =>
        refusal(
          await call('POST', '/api/v1/tokens', {
            token: tokens.mallory,
            body: { kind: 'personal', user: victim, ...(workspaceId ? { workspaceId } : {}) },
          }),
        ),
      );
    }
  }
  await record.check('admin token for himself', async () =>
    refusal(await call('POST', '/api/v1/tokens', { token: tokens.mallory, body: { kind: 'admin' } })),
  );
  await record.check('a bound token creates an unbound one (widening)', async () =>
    refusal(await call('POST', '/api/v1/tokens', { token: tokens.malloryBound, body: { kind: 'personal' } })),
  );
  for (const victim of ['admin', 'alice']) {
    for (const [label, token, body] of [
      ['his token, no current password', tokens.mallory, { currentPassword: 'x', password: 'a brand new password!' }],
      ['the planted token', tokens.planted, { currentPassword: 'x', password: 'a brand new password!' }],
      ['the admin token', ts.adminToken, { currentPassword: 'x', password: 'a brand new password!' }],
    ] as const) {
      await record.check(`set ${victim}'s password with ${label}`, async () =>
        refusal(await call('POST', `/api/v1/users/${victim}/password`, { token, body })),
      );
    }
  }
  await record.check('no password was set for admin or alice', async () => {
    const auth = ts.server.context.store.webAuth;
    const admin = await ts.server.context.store.findUser('admin');
    return (await auth.findPasswordHash(admin?.id ?? '')) === undefined &&
      (await auth.findPasswordHash(ids.alice)) === undefined
      ? undefined
      : 'a password exists';
  });
  for (const [label, token] of [
    ['his personal token', tokens.mallory],
    ['a minted token', tokens.bMinted],
    ['a CI token', tokens.bCi],
  ] as const) {
    await record.check(`server-admin action (list users) with ${label}`, async () =>
      refusal(await call('GET', '/api/v1/users', { token })),
    );
  }
  expect(record.describeFailures(since)).toEqual([]);
});

it("an org admin cannot reach another organisation's members, bots, tokens, workspaces or cache", async () => {
  const since = record.failures.length;
  const attacks: [string, string, string, unknown?][] = [
    ['list members', 'GET', '/api/v1/orgs/org-a/members'],
    ['add himself as admin', 'POST', '/api/v1/orgs/org-a/members', { user: 'mallory', role: 'admin' }],
    ['promote a member', 'PATCH', '/api/v1/orgs/org-a/members/carol', { role: 'admin' }],
    ['remove a member', 'DELETE', '/api/v1/orgs/org-a/members/carol'],
    ['create a bot there', 'POST', '/api/v1/orgs/org-a/bots', { name: 'mallory-bot' }],
    [
      'create a trusted CI token',
      'POST',
      '/api/v1/tokens',
      { kind: 'ci', workspaceId: ids.wsA, access: 'read-write', tier: 'trusted' },
    ],
    ['change workspace access', 'PATCH', `/api/v1/workspaces/${ids.wsA}`, { anonymousAccess: 'read-write' }],
    ['read the audit log', 'GET', '/api/v1/audit?org=org-a'],
    ['list entries', 'GET', `/api/v1/entries?workspace=${ids.wsA}`],
    ['purge entries', 'POST', '/api/v1/entries/purge', { workspace: ids.wsA, tier: 'shared' }],
    ['mint into the workspace', 'POST', '/api/v1/tokens/mint', { scope: 'evil', workspaceId: ids.wsA }],
    ['add its bot to his org', 'POST', '/api/v1/orgs/org-b/members', { user: 'a-bot' }],
    ['place an unowned bot in his org', 'POST', '/api/v1/orgs/org-b/members', { user: 'stray-bot' }],
    ...(['aCi', 'aBotToken', 'aliceToken'] as const).flatMap((target): [string, string, string, unknown?][] => [
      [`read token ${target}`, 'GET', `/api/v1/tokens/${ids[target]}`],
      [`rotate token ${target}`, 'POST', `/api/v1/tokens/${ids[target]}/rotate`],
      [`revoke token ${target}`, 'POST', `/api/v1/tokens/${ids[target]}/revoke`],
      [`raise token ${target}`, 'PATCH', `/api/v1/tokens/${ids[target]}`, { access: 'read-write' }],
    ]),
  ];
  for (const [label, token] of [
    ['his token', tokens.mallory],
    ['his bound token', tokens.malloryBound],
    ['the planted token', tokens.planted],
  ] as const) {
    for (const [what, method, path, body] of attacks)
      await record.check(`${what} with ${label}`, async () => refusal(await call(method, path, { token, body })));
  }
  for (const [label, token] of [
    ['his CI token', tokens.bCi],
    ['his minted token', tokens.bMinted],
    ["org A's minted token", tokens.aMinted],
  ] as const) {
    await record.check(`mint into org A with ${label}`, async () =>
      refusal(await call('POST', '/api/v1/tokens/mint', { token, body: { scope: 'evil', workspaceId: ids.wsA } })),
    );
  }
  for (const [label, token] of [
    ['his token', tokens.mallory],
    ['the planted token', tokens.planted],
  ] as const) {
    await record.check(`read org A's cache with ${label}`, async () =>
      refusal(await call('GET', `/w/${ids.wsA}/v1/cache/abc`, { token })),
    );
  }
  expect(record.describeFailures(since)).toEqual([]);
});

it('the web page holds the same walls, and a session cookie never authenticates the API', async () => {
  const since = record.failures.length;
  const pages = [
    '/ui/orgs/org-a/members',
    '/ui/orgs/org-a/tokens',
    '/ui/orgs/org-a/audit',
    `/ui/workspaces/${ids.wsA}`,
  ];
  for (const path of pages)
    await record.check(`open ${path}`, async () => refusal(await call('GET', path, { cookie: mallorySession })));
  const forms: [string, Record<string, string>][] = [
    ['/ui/orgs/org-a/members/add', { user: 'mallory', role: 'admin' }],
    ['/ui/orgs/org-b/members/add', { user: 'a-bot', role: 'member' }],
    [`/ui/orgs/org-a/members/${ids.carol}/remove`, {}],
    [`/ui/orgs/org-a/members/${ids.carol}/role`, { role: 'admin' }],
    ['/ui/orgs/org-a/bots', { name: 'web-bot' }],
    ['/ui/orgs/org-a/invites', { role: 'admin' }],
    [`/ui/orgs/org-b/bots/${ids.aBot}/tokens`, { workspaceId: ids.wsB, access: 'read-write' }],
    [`/ui/orgs/org-a/bots/${ids.aBot}/tokens`, { workspaceId: ids.wsA, access: 'read-write' }],
    [`/ui/workspaces/${ids.wsA}/access`, { anonymousAccess: 'read-write', memberDefaultAccess: 'read-write' }],
    [`/ui/workspaces/${ids.wsA}/ci-tokens`, { name: 'evil', access: 'read-write', tier: 'trusted' }],
    [
      `/ui/workspaces/${ids.wsA}/trust-policies`,
      {
        name: 'evil',
        provider: 'github',
        audience: 'https://cache.example',
        rules: JSON.stringify([{ claims: { repository_id: '1' }, outcome: 'read-only' }]),
      },
    ],
    [`/ui/workspaces/${ids.wsA}/trust-policies/github/delete`, {}],
    [`/ui/tokens/${ids.aBotToken}/rotate`, {}],
    [`/ui/tokens/${ids.aBotToken}/revoke`, {}],
    [`/ui/tokens/${ids.aliceToken}/access`, { access: 'read' }],
  ];
  for (const [path, form] of forms)
    await record.check(`post ${path}`, async () => refusal(await call('POST', path, { cookie: mallorySession, form })));
  for (const path of ['/api/v1/users', '/api/v1/orgs/org-b/members', '/api/v1/tokens']) {
    await record.check(`session cookie on ${path}`, async () =>
      refusal(await call('GET', path, { cookie: mallorySession })),
    );
  }
  expect(record.describeFailures(since)).toEqual([]);
});

it('a route shipped without a permission stops the server from starting', async () => {
  const since = record.failures.length;
  await record.check('undeclared route', async () => {
    const app = Fastify();
    registerRoutePolicy(app, {
      store: {} as never,
      credentials: {} as never,
      audit: {} as never,
      loadSession: async () => undefined,
      checkSessionPost: () => undefined,
    });
    app.register(async (scope) => {
      scope.post('/api/v1/backdoor', async () => 'open');
    });
    const started = await app.ready().then(
      () => 'started',
      (err: { code?: string }) => err.code,
    );
    await app.close().catch(() => undefined);
    return started === 'ERR_ROUTE_UNDECLARED' ? undefined : `start-up ended with ${String(started)}`;
  });
  expect(record.describeFailures(since)).toEqual([]);
});

it('afterwards org A is as it was, and the refusals are in the audit log', async () => {
  const since = record.failures.length;
  await record.check("org A's members unchanged", async () => {
    const members = (await api<{ userName: string; role: string }[]>('GET', '/orgs/org-a/members'))
      .map((m) => `${m.userName}:${m.role}`)
      .sort();
    return JSON.stringify(members) === JSON.stringify(['a-bot:member', 'admin:admin', 'alice:admin', 'carol:member'])
      ? undefined
      : `members are ${members.join(', ')}`;
  });
  await record.check("org A's bot token still works and writes the shared tier", async () => {
    const access = JSON.parse((await call('GET', '/v1/access', { token: tokens.aBot })).text) as {
      access?: { write: boolean };
      tier?: string;
    };
    return access.access?.write === true && access.tier === 'trusted'
      ? undefined
      : `access is ${JSON.stringify(access)}`;
  });
  await record.check("org A's CI token and minted token are untouched (none added, none revoked)", async () => {
    const list = await api<{ kind: string; revokedAt: string | null; rotatedAt: string | null }[]>(
      'GET',
      `/tokens?workspace=${ids.wsA}`,
    );
    const ci = list.filter((t) => t.kind === 'ci');
    return ci.length === 2 && ci.every((t) => t.revokedAt === null && t.rotatedAt === null)
      ? undefined
      : `org A's CI tokens: ${JSON.stringify(ci)}`;
  });
  await record.check('the audit log records refused attempts by mallory', async () => {
    const events = await api<{ action: string; actorUserId: string | null }[]>('GET', '/audit?limit=1000');
    const denied = events.filter((e) => e.action === 'access.denied' && e.actorUserId === ids.mallory).length;
    return denied >= 20 ? undefined : `only ${denied} access.denied entries for mallory`;
  });
  expect(record.describeFailures(since)).toEqual([]);
});
