/**
 * The permission matrix, generated from the server's own route table: every registered route, as every
 * kind of actor, against its own organisation and a foreign one, answers as the one table below says.
 * A route missing from the table fails the test, so no route ships without a reviewed row.
 * One server, set up once; requests go through `inject`, in order (sign-out rows last).
 */
import type { LightMyRequestResponse } from 'fastify';
import { csrfTokenFor, SESSION_COOKIE, SessionService } from '../../../src/server/auth/sessions';
import { newInvitationId } from '../../../src/server/ids';
import { setPasswordInStore } from '../../../src/server/offline-password';
import { api, startTestServer, type TestServer } from './test-server';

const ACTORS = [
  'anonymous',
  'server-admin',
  'server-admin-session',
  'org-admin',
  'org-admin-bound',
  'org-admin-session',
  'member',
  'member-session',
  'bot',
  'ci',
  'minted',
] as const;
type ActorName = (typeof ACTORS)[number];
type Outcome = 'allowed' | 'denied';

interface Tenant {
  org: string;
  orgId: string;
  ws: string;
  member: string;
  memberId: string;
  victim: string;
  outsider: string;
  bot: string;
  botId: string;
  botTokenId: string;
  invitationId: string;
}

interface Req {
  path: string;
  body?: Record<string, unknown>;
  form?: Record<string, string>;
  raw?: string;
}

interface Row {
  request: (t: Tenant) => Req;
  /** The actors allowed when the target is the actor's own organisation; everybody else is refused. */
  own: readonly ActorName[];
  /** ... and when it is another organisation's; `same` when the route names no organisation. */
  foreign: readonly ActorName[] | 'same';
}

// Shorthands for the table.
const ALL = ACTORS;
const S = 'server-admin';
const SS = 'server-admin-session';
const OA = 'org-admin';
const OB = 'org-admin-bound';
const OS = 'org-admin-session';
const M = 'member';
const MS = 'member-session';
const BOT = 'bot';
const CI = 'ci';
const MINT = 'minted';
const IDENTITIES = [S, OA, OB, M, BOT] as const;
const SESSIONS = [SS, OS, MS] as const;
const BOUND_TO_OWN = [OB, BOT, CI, MINT] as const;

let unique = 0;
const fresh = (prefix: string): string => `${prefix}-${++unique}`;
const get = (path: string) => () => ({ path });
const NO_TOKEN = 'tok_0000000000000000';
const RUN_REPORT = { client: 'runner', nxVersion: null, startedAt: null, endedAt: null, tasks: [] };

/** THE table: one row per route, `METHOD url` as fastify registered it. */
const TABLE: Record<string, Row> = {
  'GET /healthz': { request: get('/healthz'), own: ALL, foreign: 'same' },
  'GET /readyz': { request: get('/readyz'), own: ALL, foreign: 'same' },
  'GET /metrics': { request: get('/metrics'), own: ALL, foreign: 'same' },
  'GET /api/v1/stats': { request: get('/api/v1/stats'), own: [S], foreign: 'same' },
  'POST /api/v1/retention/run': { request: get('/api/v1/retention/run'), own: [S], foreign: 'same' },
  'POST /api/v1/sso/recheck': { request: get('/api/v1/sso/recheck'), own: [S], foreign: 'same' },
  'POST /api/v1/backup': { request: get('/api/v1/backup?blobs=skip'), own: [S], foreign: 'same' },
  // The cache: a bound token's own workspace, or the one in the URL.
  'GET /v1/cache/:hash': { request: get('/v1/cache/abc'), own: BOUND_TO_OWN, foreign: 'same' },
  'PUT /v1/cache/:hash': {
    request: () => ({ path: `/v1/cache/${fresh('h')}`, raw: 'artifact' }),
    own: BOUND_TO_OWN,
    foreign: 'same',
  },
  'GET /w/:workspaceId/v1/cache/:hash': {
    request: (t) => ({ path: `/w/${t.ws}/v1/cache/abc` }),
    own: [OA, OB, M, BOT, CI, MINT],
    foreign: [],
  },
  'PUT /w/:workspaceId/v1/cache/:hash': {
    request: (t) => ({ path: `/w/${t.ws}/v1/cache/${fresh('h')}`, raw: 'artifact' }),
    own: [OA, OB, M, BOT, CI, MINT],
    foreign: [],
  },
  'GET /v1/access': { request: get('/v1/access'), own: BOUND_TO_OWN, foreign: 'same' },
  // Run reports: like a cache read of the workspace, never anonymous.
  'POST /v1/runs': { request: () => ({ path: '/v1/runs', body: RUN_REPORT }), own: BOUND_TO_OWN, foreign: 'same' },
  'POST /w/:workspaceId/v1/runs': {
    request: (t) => ({ path: `/w/${t.ws}/v1/runs`, body: RUN_REPORT }),
    own: [OA, OB, M, BOT, CI, MINT],
    foreign: [],
  },
  // Only a caller who may read the workspace learns anything about it (anonymous here is level none; sessions are anonymous on the cache).
  'GET /w/:workspaceId/v1/access': {
    request: (t) => ({ path: `/w/${t.ws}/v1/access` }),
    own: [OA, OB, M, BOT, CI, MINT],
    foreign: [],
  },
  // Organisations and users.
  'POST /api/v1/orgs': {
    request: () => ({ path: '/api/v1/orgs', body: { name: fresh('org') } }),
    own: [S],
    foreign: 'same',
  },
  'GET /api/v1/orgs': { request: get('/api/v1/orgs'), own: IDENTITIES, foreign: 'same' },
  // Bound tokens (the bot's machine token is one) reach no organisation-level resource.
  'GET /api/v1/orgs/:org': { request: (t) => ({ path: `/api/v1/orgs/${t.org}` }), own: [S, OA, M], foreign: [S] },
  'POST /api/v1/users': {
    request: () => ({ path: '/api/v1/users', body: { name: fresh('user') } }),
    own: [S],
    foreign: 'same',
  },
  'GET /api/v1/users': { request: get('/api/v1/users'), own: [S], foreign: 'same' },
  'GET /api/v1/users/:user': { request: (t) => ({ path: `/api/v1/users/${t.member}` }), own: [S, M], foreign: [S] },
  'POST /api/v1/users/:user/password': {
    request: (t) => ({
      path: `/api/v1/users/${t.member}/password`,
      body: { currentPassword: 'not the password', password: 'a long enough new password' },
    }),
    own: [M],
    foreign: [],
  },
  // Workspaces.
  'POST /api/v1/workspaces': {
    request: (t) => ({ path: '/api/v1/workspaces', body: { org: t.org, name: fresh('ws') } }),
    own: [S, OA],
    foreign: [S],
  },
  'GET /api/v1/workspaces': { request: get('/api/v1/workspaces'), own: IDENTITIES, foreign: 'same' },
  'GET /api/v1/workspaces/:id': {
    request: (t) => ({ path: `/api/v1/workspaces/${t.ws}` }),
    own: [S, OA, OB, M, BOT],
    foreign: [S],
  },
  // Run reports are read by the workspace's readers among people, never by CI tokens.
  'GET /api/v1/workspaces/:id/runs': {
    request: (t) => ({ path: `/api/v1/workspaces/${t.ws}/runs` }),
    own: [S, OA, OB, M, BOT],
    foreign: [S],
  },
  'GET /api/v1/workspaces/:id/runs/:run': {
    // A run that does not exist: ERR_RUN_NOT_FOUND once the caller may read the workspace.
    request: (t) => ({ path: `/api/v1/workspaces/${t.ws}/runs/run_00000000000000000000` }),
    own: [S, OA, OB, M, BOT],
    foreign: [S],
  },
  'PATCH /api/v1/workspaces/:id': {
    request: (t) => ({ path: `/api/v1/workspaces/${t.ws}`, body: { anonymousAccess: 'none' } }),
    own: [S, OA, OB],
    foreign: [S],
  },
  // Members, bots and invitations.
  'GET /api/v1/orgs/:org/members': {
    request: (t) => ({ path: `/api/v1/orgs/${t.org}/members` }),
    own: [S, OA],
    foreign: [S],
  },
  // Sign-in policy: its admins read it; only a server admin claims email domains (they reach people outside it).
  'GET /api/v1/orgs/:org/sign-in-policy': {
    request: (t) => ({ path: `/api/v1/orgs/${t.org}/sign-in-policy` }),
    own: [S, OA],
    foreign: [S],
  },
  'PUT /api/v1/orgs/:org/sign-in-policy': {
    request: (t) => ({
      path: `/api/v1/orgs/${t.org}/sign-in-policy`,
      body: { requiredProvider: null, joinDomains: [] },
    }),
    own: [S],
    foreign: [S],
  },
  'POST /api/v1/orgs/:org/members': {
    request: (t) => ({ path: `/api/v1/orgs/${t.org}/members`, body: { user: t.outsider } }),
    own: [S, OA],
    foreign: [S],
  },
  'GET /api/v1/orgs/:org/invitations': {
    request: (t) => ({ path: `/api/v1/orgs/${t.org}/invitations` }),
    own: [S, OA],
    foreign: [S],
  },
  'POST /api/v1/orgs/:org/bots': {
    request: (t) => ({ path: `/api/v1/orgs/${t.org}/bots`, body: { name: fresh('bot') } }),
    own: [S, OA],
    foreign: [S],
  },
  'PATCH /api/v1/orgs/:org/members/:user': {
    request: (t) => ({ path: `/api/v1/orgs/${t.org}/members/${t.victim}`, body: { role: 'member' } }),
    own: [S, OA],
    foreign: [S],
  },
  'DELETE /api/v1/orgs/:org/members/:user': {
    request: (t) => ({ path: `/api/v1/orgs/${t.org}/members/${t.victim}` }),
    own: [S, OA],
    foreign: [S],
  },
  'GET /api/v1/invitations': { request: get('/api/v1/invitations'), own: IDENTITIES, foreign: 'same' },
  'POST /api/v1/invitations/:id/accept': {
    request: (t) => ({ path: `/api/v1/invitations/${t.invitationId}/accept` }),
    own: [M],
    foreign: [],
  },
  'POST /api/v1/invitations/:id/decline': {
    request: (t) => ({ path: `/api/v1/invitations/${t.invitationId}/decline` }),
    own: [M],
    foreign: [],
  },
  // Tokens: a machine token for the organisation's bot, bound to its workspace; the bot's other token as the target.
  'POST /api/v1/tokens': {
    request: (t) => ({
      path: '/api/v1/tokens',
      body: { kind: 'personal', user: t.bot, workspaceId: t.ws, name: fresh('machine') },
    }),
    own: [S, OA, OB],
    foreign: [S],
  },
  'GET /api/v1/tokens': { request: get('/api/v1/tokens'), own: IDENTITIES, foreign: 'same' },
  'GET /api/v1/tokens/:id': {
    request: (t) => ({ path: `/api/v1/tokens/${t.botTokenId}` }),
    own: [S, OA, OB, BOT],
    foreign: [S],
  },
  'POST /api/v1/tokens/:id/rotate': {
    request: (t) => ({ path: `/api/v1/tokens/${t.botTokenId}/rotate` }),
    own: [S, OA, OB, BOT],
    foreign: [S],
  },
  'PATCH /api/v1/tokens/:id': {
    request: (t) => ({ path: `/api/v1/tokens/${t.botTokenId}`, body: { access: 'read' } }),
    own: [S, OA, OB, BOT],
    foreign: [S],
  },
  'POST /api/v1/tokens/:id/revoke': {
    request: (t) => ({ path: `/api/v1/tokens/${t.botTokenId}/revoke` }),
    own: [S, OA, OB, BOT],
    foreign: [S],
  },
  'POST /api/v1/tokens/mint': {
    request: (t) => ({ path: '/api/v1/tokens/mint', body: { scope: fresh('pr'), workspaceId: t.ws } }),
    own: [S, OA, OB, CI],
    foreign: [S],
  },
  // CI identity: the exchange reads no credential (the identity token is one); trust policies are the workspace admins'.
  'POST /api/v1/ci-identity/exchange': {
    request: (t) => ({ path: '/api/v1/ci-identity/exchange', body: { workspaceId: t.ws, token: 'not-a-jwt' } }),
    own: ALL,
    foreign: 'same',
  },
  'GET /api/v1/workspaces/:id/trust-policies': {
    request: (t) => ({ path: `/api/v1/workspaces/${t.ws}/trust-policies` }),
    own: [S, OA, OB],
    foreign: [S],
  },
  'POST /api/v1/workspaces/:id/trust-policies': {
    request: (t) => ({ path: `/api/v1/workspaces/${t.ws}/trust-policies`, body: { name: fresh('policy') } }),
    own: [S, OA, OB],
    foreign: [S],
  },
  'DELETE /api/v1/workspaces/:id/trust-policies/:policy': {
    request: (t) => ({ path: `/api/v1/workspaces/${t.ws}/trust-policies/no-such-policy` }),
    own: [S, OA, OB],
    foreign: [S],
  },
  // Audit and provenance.
  'GET /api/v1/audit': { request: (t) => ({ path: `/api/v1/audit?org=${t.org}` }), own: [S, OA], foreign: [S] },
  'GET /api/v1/entries': {
    request: (t) => ({ path: `/api/v1/entries?workspace=${t.ws}` }),
    own: [S, OA, OB],
    foreign: [S],
  },
  'POST /api/v1/entries/quarantine': {
    request: (t) => ({ path: '/api/v1/entries/quarantine', body: { workspace: t.ws, token: NO_TOKEN } }),
    own: [S, OA, OB],
    foreign: [S],
  },
  'POST /api/v1/entries/purge': {
    request: (t) => ({ path: '/api/v1/entries/purge', body: { workspace: t.ws, token: NO_TOKEN } }),
    own: [S, OA, OB],
    foreign: [S],
  },
  // CLI login (the device code is the credential).
  'POST /api/v1/login/requests': {
    request: () => ({ path: '/api/v1/login/requests', body: { hostname: 'matrix' } }),
    own: ALL,
    foreign: 'same',
  },
  'POST /api/v1/login/requests/:id/poll': {
    request: () => ({ path: '/api/v1/login/requests/lrq_00000000000000000000/poll', body: { deviceCode: 'nope' } }),
    own: ALL,
    foreign: 'same',
  },
  // The web page: public pages, then a signed-in person's own pages, then organisation admin pages.
  'GET /': { request: get('/'), own: ALL, foreign: 'same' },
  'GET /ui': { request: get('/ui'), own: ALL, foreign: 'same' },
  'GET /ui/assets/app.css': { request: get('/ui/assets/app.css'), own: ALL, foreign: 'same' },
  'GET /ui/assets/app.js': { request: get('/ui/assets/app.js'), own: ALL, foreign: 'same' },
  'GET /ui/sign-in': { request: get('/ui/sign-in'), own: ALL, foreign: 'same' },
  'POST /ui/sign-in': {
    request: () => ({ path: '/ui/sign-in', form: { name: 'nobody', password: 'wrong' } }),
    own: ALL,
    foreign: 'same',
  },
  'GET /ui/invite/:code': { request: get('/ui/invite/unknown-code'), own: ALL, foreign: 'same' },
  'GET /ui/sign-in/sso/:provider': { request: get('/ui/sign-in/sso/unknown'), own: ALL, foreign: 'same' },
  'GET /ui/sign-in/sso/:provider/callback': {
    request: get('/ui/sign-in/sso/unknown/callback?state=x&code=y'),
    own: ALL,
    foreign: 'same',
  },
  'POST /ui/invite/:code': {
    request: () => ({ path: '/ui/invite/unknown-code', form: { name: 'x', password: 'y' } }),
    own: ALL,
    foreign: 'same',
  },
  'GET /ui/first-sign-in/:code': { request: get('/ui/first-sign-in/unknown-code'), own: ALL, foreign: 'same' },
  'POST /ui/first-sign-in/:code': {
    request: () => ({ path: '/ui/first-sign-in/unknown-code', form: { password: 'a long enough new password' } }),
    own: ALL,
    foreign: 'same',
  },
  'GET /ui/*': { request: get('/ui/no-such-page'), own: ALL, foreign: 'same' },
  // SCIM: only an identity provider's SCIM token (none of these actors holds one) opens it.
  'GET /scim/v2/ServiceProviderConfig': { request: get('/scim/v2/ServiceProviderConfig'), own: [], foreign: 'same' },
  'GET /scim/v2/Users': { request: get('/scim/v2/Users'), own: [], foreign: 'same' },
  'GET /scim/v2/Users/:id': { request: get('/scim/v2/Users/scim_0000000000000000'), own: [], foreign: 'same' },
  'POST /scim/v2/Users': {
    request: () => ({ path: '/scim/v2/Users', body: { userName: 'x@y.test' } }),
    own: [],
    foreign: 'same',
  },
  'PUT /scim/v2/Users/:id': {
    request: () => ({ path: '/scim/v2/Users/scim_0000000000000000', body: { userName: 'x@y.test' } }),
    own: [],
    foreign: 'same',
  },
  'PATCH /scim/v2/Users/:id': {
    request: () => ({ path: '/scim/v2/Users/scim_0000000000000000', body: { Operations: [] } }),
    own: [],
    foreign: 'same',
  },
  'DELETE /scim/v2/Users/:id': { request: get('/scim/v2/Users/scim_0000000000000000'), own: [], foreign: 'same' },
  'POST /ui/sign-out': { request: () => ({ path: '/ui/sign-out', form: {} }), own: SESSIONS, foreign: 'same' },
  'GET /ui/account': { request: get('/ui/account'), own: SESSIONS, foreign: 'same' },
  'POST /ui/account/password': {
    request: () => ({
      path: '/ui/account/password',
      form: { current: 'not the password', password: 'a long enough new password' },
    }),
    own: SESSIONS,
    foreign: 'same',
  },
  'GET /ui/tokens': { request: get('/ui/tokens'), own: SESSIONS, foreign: 'same' },
  'POST /ui/tokens': {
    request: (t) => ({ path: '/ui/tokens', form: { name: 'mine', workspaceId: t.ws } }),
    own: SESSIONS,
    foreign: SESSIONS,
  },
  'POST /ui/tokens/:id/rotate': {
    request: (t) => ({ path: `/ui/tokens/${t.botTokenId}/rotate`, form: {} }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/tokens/:id/access': {
    request: (t) => ({ path: `/ui/tokens/${t.botTokenId}/access`, form: { access: 'read' } }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/tokens/:id/revoke': {
    request: (t) => ({ path: `/ui/tokens/${t.botTokenId}/revoke`, form: {} }),
    own: [SS, OS],
    foreign: [SS],
  },
  'GET /ui/device': { request: get('/ui/device'), own: SESSIONS, foreign: 'same' },
  'POST /ui/device': {
    request: () => ({ path: '/ui/device', form: { code: 'BCDF-GHJK' } }),
    own: SESSIONS,
    foreign: 'same',
  },
  'POST /ui/device/approve': {
    request: () => ({ path: '/ui/device/approve', form: { code: 'BCDF-GHJK' } }),
    own: SESSIONS,
    foreign: 'same',
  },
  'POST /ui/device/deny': {
    request: () => ({ path: '/ui/device/deny', form: { code: 'BCDF-GHJK' } }),
    own: SESSIONS,
    foreign: 'same',
  },
  'GET /ui/orgs': { request: get('/ui/orgs'), own: SESSIONS, foreign: 'same' },
  'GET /ui/stats': { request: get('/ui/stats'), own: SESSIONS, foreign: 'same' },
  'POST /ui/invitations/:id/accept': {
    request: (t) => ({ path: `/ui/invitations/${t.invitationId}/accept`, form: {} }),
    own: [MS],
    foreign: [],
  },
  'POST /ui/invitations/:id/decline': {
    request: (t) => ({ path: `/ui/invitations/${t.invitationId}/decline`, form: {} }),
    own: [MS],
    foreign: [],
  },
  'GET /ui/orgs/:org': { request: (t) => ({ path: `/ui/orgs/${t.org}` }), own: SESSIONS, foreign: SESSIONS },
  'GET /ui/orgs/:org/members': {
    request: (t) => ({ path: `/ui/orgs/${t.org}/members` }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/orgs/:org/invites': {
    request: (t) => ({ path: `/ui/orgs/${t.org}/invites`, form: { role: 'member' } }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/orgs/:org/members/add': {
    request: (t) => ({ path: `/ui/orgs/${t.org}/members/add`, form: { user: t.outsider, role: 'member' } }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/orgs/:org/members/:user/remove': {
    request: (t) => ({ path: `/ui/orgs/${t.org}/members/${t.victim}/remove`, form: {} }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/orgs/:org/members/:user/role': {
    request: (t) => ({ path: `/ui/orgs/${t.org}/members/${t.victim}/role`, form: { role: 'member' } }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/orgs/:org/bots': {
    request: (t) => ({ path: `/ui/orgs/${t.org}/bots`, form: { name: fresh('bot') } }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/orgs/:org/bots/:user/tokens': {
    request: (t) => ({ path: `/ui/orgs/${t.org}/bots/${t.bot}/tokens`, form: { workspaceId: t.ws, access: 'read' } }),
    own: [SS, OS],
    foreign: [SS],
  },
  'GET /ui/orgs/:org/workspaces': {
    request: (t) => ({ path: `/ui/orgs/${t.org}/workspaces` }),
    own: [SS, OS, MS],
    foreign: [SS],
  },
  'GET /ui/orgs/:org/tokens': { request: (t) => ({ path: `/ui/orgs/${t.org}/tokens` }), own: [SS, OS], foreign: [SS] },
  'GET /ui/orgs/:org/audit': { request: (t) => ({ path: `/ui/orgs/${t.org}/audit` }), own: [SS, OS], foreign: [SS] },
  'GET /ui/workspaces/:id': { request: (t) => ({ path: `/ui/workspaces/${t.ws}` }), own: [SS, OS], foreign: [SS] },
  // The Runs view: members of the organisation read it; its admins flip the switch.
  'GET /ui/workspaces/:id/runs': {
    request: (t) => ({ path: `/ui/workspaces/${t.ws}/runs` }),
    own: [SS, OS, MS],
    foreign: [SS],
  },
  'GET /ui/workspaces/:id/runs/:run': {
    request: (t) => ({ path: `/ui/workspaces/${t.ws}/runs/run_00000000000000000000` }),
    own: [SS, OS, MS],
    foreign: [SS],
  },
  'POST /ui/workspaces/:id/run-reports': {
    request: (t) => ({ path: `/ui/workspaces/${t.ws}/run-reports`, form: { enabled: 'on' } }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/workspaces/:id/access': {
    request: (t) => ({
      path: `/ui/workspaces/${t.ws}/access`,
      form: { anonymousAccess: 'none', memberDefaultAccess: 'read-write' },
    }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/workspaces/:id/members/:user/access': {
    request: (t) => ({ path: `/ui/workspaces/${t.ws}/members/${t.memberId}/access`, form: { access: 'default' } }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/workspaces/:id/ci-tokens': {
    request: (t) => ({
      path: `/ui/workspaces/${t.ws}/ci-tokens`,
      form: { name: 'ci', access: 'read', tier: 'isolated' },
    }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/workspaces/:id/trust-policies': {
    request: (t) => ({
      path: `/ui/workspaces/${t.ws}/trust-policies`,
      form: {
        name: fresh('tp'),
        provider: 'github',
        audience: 'https://cache.example',
        rules: JSON.stringify([{ claims: { repository_id: '101' }, outcome: 'read-only' }]),
      },
    }),
    own: [SS, OS],
    foreign: [SS],
  },
  'POST /ui/workspaces/:id/trust-policies/:policy/delete': {
    request: (t) => ({ path: `/ui/workspaces/${t.ws}/trust-policies/no-such-policy/delete`, form: {} }),
    own: [SS, OS],
    foreign: [SS],
  },
};

/** Refusals by the authorization layer (policy, credential kind, workspace binding, missing session). */
const DENIALS = new Set([
  'ERR_AUTH_FORBIDDEN',
  'ERR_AUTH_TOKEN_MISSING',
  'ERR_AUTH_TOKEN_KIND_REFUSED',
  'ERR_AUTH_WORKSPACE_MISMATCH',
  'ERR_AUTH_WORKSPACE_REQUIRED',
  'ERR_AUTH_NOT_MEMBER',
  'ERR_AUTH_READ_DENIED',
  'ERR_AUTH_ANONYMOUS_DENIED',
  'ERR_CACHE_WRITE_DENIED',
  'ERR_RUN_REPORT_ANONYMOUS',
  'ERR_WEB_SESSION_REQUIRED',
  'ERR_SCIM_UNAUTHORIZED',
]);
/** A target the fixture failed to name: the row's request is wrong, not the server. */
const UNRESOLVED = new Set([
  'ERR_ORG_NOT_FOUND',
  'ERR_WORKSPACE_NOT_FOUND',
  'ERR_USER_NOT_FOUND',
  'ERR_TOKEN_NOT_FOUND',
]);

function errorCodeOf(response: LightMyRequestResponse): string | undefined {
  if (response.statusCode < 400) return undefined;
  try {
    // Ours is `{ error: { code } }`; SCIM's error object names the code at the start of its `detail`.
    const body = JSON.parse(response.body) as { error?: { code?: string }; detail?: string };
    return body.error?.code ?? /^(ERR_[A-Z_]+):/.exec(body.detail ?? '')?.[1];
  } catch {
    return /\b(ERR_[A-Z_]+)\b/.exec(response.body)?.[1];
  }
}

function outcomeOf(response: LightMyRequestResponse): Outcome | string {
  if (response.statusCode >= 500) return `error ${response.statusCode}: ${response.body.slice(0, 200)}`;
  if (response.statusCode === 303 && String(response.headers.location ?? '').startsWith('/ui/sign-in?next='))
    return 'denied';
  const code = errorCodeOf(response);
  if (code !== undefined && UNRESOLVED.has(code)) return `unresolved target (${code})`;
  return code !== undefined && DENIALS.has(code) ? 'denied' : 'allowed';
}

let ts: TestServer;
const tenants: Record<'own' | 'foreign', Tenant> = {} as never;
const credentials: Partial<Record<ActorName, { bearer?: string; session?: string }>> = {};

async function makeTenant(key: string): Promise<Tenant> {
  const org = `org-${key}`;
  const orgId = (await api<{ id: string }>(ts, 'POST', '/orgs', { name: org })).id;
  const ws = (
    await api<{ id: string }>(ts, 'POST', '/workspaces', { org, name: 'mono', memberDefaultAccess: 'read-write' })
  ).id;
  const ids: Record<string, string> = {};
  for (const name of [`admin-${key}`, `member-${key}`, `victim-${key}`, `outsider-${key}`])
    ids[name] = (await api<{ id: string }>(ts, 'POST', '/users', { name })).id;
  for (const [name, role] of [
    [`admin-${key}`, 'admin'],
    [`member-${key}`, 'member'],
    [`victim-${key}`, 'member'],
  ] as const)
    await api(ts, 'POST', `/orgs/${org}/members`, { user: name, role });
  const bot = `bot-${key}`;
  const botId = (await api<{ id: string }>(ts, 'POST', '/users', { name: bot, bot: true, org })).id;
  const botTokenId = (
    await api<{ id: string }>(ts, 'POST', '/tokens', {
      kind: 'personal',
      user: bot,
      workspaceId: ws,
      name: 'victim machine token',
    })
  ).id;
  const invitationId = newInvitationId();
  const now = ts.clock.now;
  await ts.server.context.store.tenancy.insertInvitation({
    id: invitationId,
    orgId,
    userId: ids[`member-${key}`],
    role: 'member',
    createdByUserId: null,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
    answeredAt: null,
    accepted: null,
  });
  return {
    org,
    orgId,
    ws,
    member: `member-${key}`,
    memberId: ids[`member-${key}`],
    victim: `victim-${key}`,
    outsider: `outsider-${key}`,
    bot,
    botId,
    botTokenId,
    invitationId,
  };
}

beforeAll(async () => {
  ts = await startTestServer();
  tenants.own = await makeTenant('a');
  tenants.foreign = await makeTenant('b');
  const { own } = tenants;
  const token = async (body: Record<string, unknown>, as = ts.adminToken) =>
    (
      await api<{ token: string }>(
        ts,
        body.scope === undefined ? 'POST' : 'POST',
        body.scope === undefined ? '/tokens' : '/tokens/mint',
        body,
        as,
      )
    ).token;
  credentials['server-admin'] = { bearer: ts.adminToken };
  credentials['org-admin'] = { bearer: await token({ kind: 'personal', user: 'admin-a' }) };
  credentials['org-admin-bound'] = { bearer: await token({ kind: 'personal', user: 'admin-a', workspaceId: own.ws }) };
  credentials.member = { bearer: await token({ kind: 'personal', user: own.member }) };
  credentials.bot = { bearer: await token({ kind: 'personal', user: own.bot, workspaceId: own.ws, tier: 'trusted' }) };
  credentials.ci = { bearer: await token({ kind: 'ci', workspaceId: own.ws, access: 'read-write', tier: 'trusted' }) };
  credentials.minted = { bearer: await token({ scope: 'pr-1' }, credentials.ci.bearer) };
  for (const user of ['admin', 'admin-a', own.member])
    await setPasswordInStore(ts.server.context.store, user, 'a long and careful passphrase', () => ts.clock.now);
  await signInSessions();
});

/** Fresh web sessions for the three session actors (signing out ends them). */
async function signInSessions(): Promise<void> {
  const sessions = new SessionService(ts.server.context.store.webAuth, () => ts.clock.now);
  for (const [actor, user] of [
    ['server-admin-session', 'admin'],
    ['org-admin-session', 'admin-a'],
    ['member-session', tenants.own.member],
  ] as const) {
    const userId = (await ts.server.context.store.findUser(user))?.id as string;
    credentials[actor] = { session: (await sessions.create(userId)).sessionId };
  }
}
afterAll(async () => {
  await ts?.stop();
});

function expected(row: Row, tenant: 'own' | 'foreign', actor: ActorName): Outcome {
  const allowed = tenant === 'foreign' && row.foreign !== 'same' ? row.foreign : row.own;
  return allowed.includes(actor) ? 'allowed' : 'denied';
}

async function send(method: string, req: Req, actor: ActorName): Promise<LightMyRequestResponse> {
  const { bearer, session } = credentials[actor] ?? {};
  const headers: Record<string, string> = {};
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  if (session !== undefined) headers.cookie = `${SESSION_COOKIE}=${session}`;
  let payload: string | undefined;
  if (req.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams({
      ...req.form,
      ...(session === undefined ? {} : { csrf: csrfTokenFor(session) }),
    }).toString();
  } else if (req.body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(req.body);
  } else if (req.raw !== undefined) {
    headers['content-type'] = 'application/octet-stream';
    payload = req.raw;
  } else if (method === 'POST' && req.path.startsWith('/api/')) {
    headers['content-type'] = 'application/json';
    payload = '{}';
  }
  return ts.server.app.inject({ method: method as 'GET', url: req.path, headers, payload });
}

describe('the permission matrix', () => {
  let cases = 0;
  const outcomes = { allowed: 0, denied: 0 };
  afterAll(() => {
    const routes = Object.keys(TABLE).length;
    console.log(
      `permission matrix: ${routes} routes x ${ACTORS.length} actors x 2 tenants = ${cases} cases (${outcomes.allowed} allowed, ${outcomes.denied} denied)`,
    );
  });

  it('has exactly one row per registered route', () => {
    const registered = ts.server.routes.map((r) => `${r.method} ${r.url}`);
    expect(registered.filter((key) => TABLE[key] === undefined)).toEqual([]);
    expect(Object.keys(TABLE).filter((key) => !registered.includes(key))).toEqual([]);
  });

  // Signing out ends the sessions the other rows need, so its row goes last.
  const rows = Object.keys(TABLE).sort((a, b) => Number(a === 'POST /ui/sign-out') - Number(b === 'POST /ui/sign-out'));
  it.each(rows)('%s answers every actor, in its own and a foreign organisation, as the table says', async (key) => {
    const row = TABLE[key];
    const method = key.slice(0, key.indexOf(' '));
    const mismatches: string[] = [];
    for (const tenant of ['own', 'foreign'] as const) {
      if (key === 'POST /ui/sign-out') await signInSessions();
      const req = row.request(tenants[tenant]);
      for (const actor of ACTORS) {
        const response = await send(method, req, actor);
        const got = outcomeOf(response);
        const want = expected(row, tenant, actor);
        cases++;
        if (got === 'allowed' || got === 'denied') outcomes[got]++;
        if (got !== want)
          mismatches.push(
            `[${tenant}] as ${actor}: expected ${want}, got ${got} (${response.statusCode} ${errorCodeOf(response) ?? ''})`,
          );
      }
    }
    expect(mismatches).toEqual([]);
  });
});
