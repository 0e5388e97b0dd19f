/**
 * The audit log reads as names, on the web page, in `audit list` and in the API's `names`; CLI logins
 * (approved and denied) and the tokens they create are in the organisation's log; a token swept since
 * falls back to what its own row recorded; another organisation's names never show through an id.
 */
import { auditDetailsLine, auditValueText } from '../../../src/audit-text';
import type { AuditEvent } from '../../../src/server/metadata/records';
import { resolveAuditNames } from '../../../src/server/services/audit-names';
import { api, http, startTestServer, type TestServer } from './test-server';
import { field, userWithPassword, WebClient } from './web-test-client';
import { runCliCaptured } from '../cli/cli-captured';

let ts: TestServer;
let orgId: string;
let wsId: string;
let rivalWsId: string;
let ciTokenId: string;
let ada: WebClient;

async function cli(...argv: string[]) {
  return runCliCaptured(argv, { NX_SEALED_CACHE_URL: ts.url, NX_SEALED_CACHE_ADMIN_TOKEN: ts.adminToken });
}

/** A CLI login started as the CLI does, then answered in ada's browser; polled once when approved. */
async function browserLogin(hostname: string, answer: 'approve' | 'deny'): Promise<void> {
  const started = (
    await http(`${ts.url}/api/v1/login/requests`, { method: 'POST', body: { hostname, workspaceId: wsId } })
  ).json<{ requestId: string; userCode: string; deviceCode: string }>();
  const entry = await ada.get('/ui/device');
  const confirm = await ada.post('/ui/device', { csrf: field(entry.text, 'csrf'), code: started.userCode });
  expect(confirm.status).toBe(200);
  const answered = await ada.post(`/ui/device/${answer}`, {
    csrf: field(confirm.text, 'csrf'),
    code: field(confirm.text, 'code'),
  });
  expect(answered.status).toBeLessThan(400);
  if (answer === 'approve') {
    const polled = await http(`${ts.url}/api/v1/login/requests/${started.requestId}/poll`, {
      method: 'POST',
      body: { deviceCode: started.deviceCode },
    });
    expect(polled.status).toBe(200);
  }
}

beforeAll(async () => {
  ts = await startTestServer();
  orgId = (await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'acme' })).id;
  wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'monorepo-web' })).id;
  await api(ts, 'POST', '/orgs', { name: 'rival' });
  rivalWsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'rival', name: 'rival-secret-ws' })).id;
  await userWithPassword(ts, 'ada');
  await api(ts, 'POST', '/orgs/acme/members', { user: 'ada', role: 'admin' });
  ciTokenId = (
    await api<{ id: string }>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: wsId,
      access: 'read-write',
      tier: 'trusted',
      name: 'github main',
    })
  ).id;
  ada = new WebClient(ts.url);
  await ada.signIn('ada');
  await browserLogin('build-box', 'approve');
  await browserLogin('stranger-box', 'deny');
});
afterAll(() => ts.stop());

describe("the organisation's log holds CLI logins", () => {
  it('records the approval, the refusal and the token the login created, each with the organisation', async () => {
    const events = await ts.server.context.store.listAudit({ orgId, limit: 100 });
    const approved = events.find((e) => e.action === 'login.approved');
    const denied = events.find((e) => e.action === 'login.denied');
    expect(approved?.details).toMatchObject({ hostname: 'build-box', access: 'read' });
    expect(denied?.details).toEqual({ hostname: 'stranger-box' });
    const loginToken = events.find((e) => e.action === 'token.created' && e.details.loginRequest !== undefined);
    expect(loginToken).toMatchObject({
      workspaceId: wsId,
      details: { name: 'login from build-box', kind: 'personal', loginRequest: approved?.targetId },
    });
  });
});

describe('GET /api/v1/audit names the ids', () => {
  it("gives each event names for its user, token and workspace, and none for another organisation's", async () => {
    const events = (await http(`${ts.url}/api/v1/audit?org=acme`, { token: ts.adminToken })).json<
      { action: string; targetId: string | null; names: Record<string, string> }[]
    >();
    const ci = events.find((e) => e.action === 'token.created' && e.targetId === ciTokenId);
    expect(ci?.names).toMatchObject({ [ciTokenId]: 'token “github main”', [wsId]: 'monorepo-web' });
    // The server admin token that created the workspace reads as what it is, not as its id.
    const created = events.find((e) => e.action === 'workspace.created' && e.targetId === wsId) as
      { actorTokenId: string | null; names: Record<string, string> } | undefined;
    expect(created?.actorTokenId).toMatch(/^tok_/);
    expect(created?.names[created.actorTokenId!]).toBe('server admin token');
    const approved = events.find((e) => e.action === 'login.approved');
    expect(Object.values(approved?.names ?? {})).toEqual(
      expect.arrayContaining(['ada', 'monorepo-web', 'CLI login from build-box']),
    );
  });

  it('names a swept token by what its own row recorded, and leaves other tenants as ids', async () => {
    const base = { id: 1, at: '2030-01-01T00:00:00.000Z', actorTokenId: null, actorUserId: null, orgId };
    const events: AuditEvent[] = [
      {
        ...base,
        action: 'token.created',
        workspaceId: wsId,
        targetId: 'tok_AAAAAAAAAAAAAAAA',
        details: { name: 'old laptop', kind: 'personal' },
      },
      { ...base, action: 'workspace.created', workspaceId: rivalWsId, targetId: rivalWsId, details: {} },
      { ...base, action: 'token.revoked', workspaceId: wsId, targetId: 'tok_BBBBBBBBBBBBBBBB', details: {} },
    ];
    const names = await resolveAuditNames(ts.server.context.store, events, orgId);
    expect(names['tok_AAAAAAAAAAAAAAAA']).toBe('token “old laptop” (gone)');
    expect(names).not.toHaveProperty('tok_BBBBBBBBBBBBBBBB');
    expect(names).not.toHaveProperty(rivalWsId);
    // A server administrator's whole-server log names every workspace.
    expect((await resolveAuditNames(ts.server.context.store, events, undefined))[rivalWsId]).toBe('rival-secret-ws');
  });
});

describe('the details read as text', () => {
  it('joins arrays with commas and nests objects as key: value, with ids as names', () => {
    const names = { usr_AAAAAAAAAAAAAAAA: 'ada' };
    expect(auditValueText(['push', 'schedule'], names)).toBe('push, schedule');
    expect(auditValueText({ event_name: ['push', 'schedule'], ref: 'refs/heads/main' }, names)).toBe(
      'event_name: push, schedule; ref: refs/heads/main',
    );
    expect(auditDetailsLine({ userId: 'usr_AAAAAAAAAAAAAAAA', tier: null, expires: 3 }, names)).toBe(
      'user: ada · tier: - · expires: 3',
    );
  });

  it('says keys in words (a name is no `userId`) and instants as dates; claim names stay as recorded', () => {
    const names = { usr_AAAAAAAAAAAAAAAA: 'ada', tok_AAAAAAAAAAAAAAAA: 'token “laptop”' };
    expect(
      auditDetailsLine(
        {
          userId: 'usr_AAAAAAAAAAAAAAAA',
          revokedTokenIds: ['tok_AAAAAAAAAAAAAAAA'],
          expiresAt: '2031-01-01T00:00:00.000Z',
          before: { anonymousAccess: 'none', memberDefaultAccess: 'read' },
          personalTokenTier: 'isolated',
          claims: { repository_id: '42', event_name: 'push' },
        },
        names,
      ),
    ).toBe(
      "user: ada · revoked tokens: token “laptop” · expires: 1 Jan 2031, 00:00 UTC · before: anonymous access: none; members' default: read · personal token tier: isolated · claims: repository_id: 42; event_name: push",
    );
  });
});

describe('audit list', () => {
  it('prints names, a token with its id beside it, and details as key: value, never JSON', async () => {
    const run = await cli('audit', 'list', '--org', 'acme');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^at\s+action\s+by\s+target\s+workspace\s+details$/);
    expect(run.stdout).not.toMatch(/[{}"]/);
    const ci = lines.find((l) => l.includes(` token.created `) && l.includes(ciTokenId));
    expect(ci).toContain(`token “github main” (${ciTokenId})`);
    expect(ci).toContain('monorepo-web');
    expect(ci).toContain('kind: ci · user: - · access: read-write · tier: trusted');
    const approved = lines.find((l) => l.includes(' login.approved '));
    expect(approved).toMatch(/ ada +CLI login from build-box +monorepo-web +hostname: build-box · /);
    expect(run.stdout).not.toMatch(/\bws_[A-Za-z0-9]{20}\b/);
    expect(run.stdout).not.toMatch(/\busr_[A-Za-z0-9]{16}\b/);
  });

  it('--json keeps the recorded ids and adds the names', async () => {
    const run = await cli('audit', 'list', '--org', 'acme', '--json');
    const events = JSON.parse(run.stdout) as { action: string; workspaceId: string; names: Record<string, string> }[];
    const denied = events.find((e) => e.action === 'login.denied');
    expect(denied).toMatchObject({ workspaceId: wsId, names: { [wsId]: 'monorepo-web' } });
  });
});

describe('the audit page', () => {
  it('shows names with the id as a tooltip, details as key: value, and no JSON', async () => {
    const page = await ada.get('/ui/orgs/acme/audit');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<span title="${ciTokenId}" data-id="${ciTokenId}">token “github main”</span>`);
    expect(page.text).toContain(`<span title="${wsId}" data-id="${wsId}">monorepo-web</span>`);
    expect(page.text).toContain('<span class="hint">hostname:</span> stranger-box');
    expect(page.text).toContain('login.denied');
    expect(page.text).not.toContain('{&quot;');
  });
});
