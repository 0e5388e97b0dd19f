/**
 * Retention of the tokens CI identity exchanges leave behind, on a real server with a loopback issuer:
 * a week after they expire they go (the default), tokens within that week, live ones and ordinary
 * expired tokens stay, the entry a swept token wrote still names its job, and the audit log, the token
 * lists and the pages that show them still render.
 */
import { MAIN_PUSH, type OidcIssuer, startOidcIssuer } from '../../e2e/harness/oidc-issuer';
import { api, http, startTestServer, type TestServer } from './test-server';
import { userWithPassword, WebClient } from './web-test-client';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let ts: TestServer;
let issuer: OidcIssuer;
let ws: string;

beforeAll(async () => {
  issuer = await startOidcIssuer(() => ts.clock.now.getTime());
  ts = await startTestServer({
    config: { ciIdentityHttpLoopback: true, ciIdentityIssuers: [issuer.url], retentionInterval: 0 },
  });
  await api(ts, 'POST', '/orgs', { name: 'acme' });
  ws = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' })).id;
  await api(ts, 'POST', `/workspaces/${ws}/trust-policies`, {
    name: 'github',
    provider: 'github',
    issuer: issuer.url,
    audience: ts.url,
    rules: [{ claims: { repository_id: '101', event_name: 'push', ref: 'refs/heads/main' }, outcome: 'trusted' }],
  });
  await userWithPassword(ts, 'olga');
  await api(ts, 'POST', '/orgs/acme/members', { user: 'olga', role: 'admin' });
});
afterAll(async () => {
  await issuer.stop();
  await ts.stop();
});

interface Exchanged {
  id: string;
  token: string;
  expiresAt: string;
}

async function exchange(runId: number): Promise<Exchanged> {
  const result = await http(`${ts.url}/api/v1/ci-identity/exchange`, {
    method: 'POST',
    body: { workspaceId: ws, token: await issuer.github({ ...MAIN_PUSH, runId }, { audience: ts.url }) },
  });
  expect(result.status).toBe(201);
  return result.json<Exchanged>();
}

const tokenStatus = async (id: string): Promise<string> => {
  const result = await http(`${ts.url}/api/v1/tokens/${id}`, { token: ts.adminToken });
  return result.status === 200 ? 'kept' : result.json<{ error: { code: string } }>().error.code;
};

describe('retention of exchanged CI identity tokens', () => {
  it('deletes them a week after they expire and keeps everything else readable', async () => {
    const writer = await exchange(1);
    const idle = await exchange(2);
    expect((await http(`${ts.url}/v1/cache/by-writer`, { method: 'PUT', token: writer.token, raw: 'x' })).status).toBe(
      200,
    );
    const plain = await api<{ id: string }>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: ws,
      access: 'read',
      name: 'plain',
      expiresIn: '1h',
    });
    ts.clock.advance(3 * DAY);
    const withinGrace = await exchange(3);
    // One minute past a week after the first two expired; the third expired four days ago.
    ts.clock.advance(4 * DAY + HOUR + 60_000);
    const live = await exchange(4);

    const run = await http(`${ts.url}/api/v1/retention/run`, { method: 'POST', token: ts.adminToken });
    expect(run.json<{ removed: Record<string, { count: number }> }>().removed['ci-tokens'].count).toBe(2);

    expect(await tokenStatus(writer.id)).toBe('ERR_TOKEN_NOT_FOUND');
    expect(await tokenStatus(idle.id)).toBe('ERR_TOKEN_NOT_FOUND');
    for (const id of [withinGrace.id, live.id, plain.id]) expect(await tokenStatus(id)).toBe('kept');
    expect((await http(`${ts.url}/v1/cache/by-writer`, { token: live.token })).text).toBe('x');
    expect((await http(`${ts.url}/v1/access`, { token: writer.token })).status).toBe(401);

    const listed = (await api<{ id: string }[]>(ts, 'GET', `/tokens?workspace=${ws}`)).map((t) => t.id);
    expect(listed.sort()).toEqual([withinGrace.id, live.id, plain.id].sort());

    // Provenance: the entry still leads to the job that wrote it.
    const entries = await api<{ hash: string; writerTokenId: string; writerIdentity: string | null }[]>(
      ts,
      'GET',
      `/entries?workspace=${ws}`,
    );
    expect(entries).toEqual([
      expect.objectContaining({
        hash: 'by-writer',
        writerTokenId: writer.id,
        writerIdentity: 'acme/mono@refs/heads/main (run 1, octocat)',
      }),
    ]);

    // The audit log keeps every exchange with its claims.
    const audit = await api<{ action: string; targetId: string; details: { claims: Record<string, string> } }[]>(
      ts,
      'GET',
      '/audit?org=acme',
    );
    const exchanges = audit.filter((e) => e.action === 'ci-identity.exchanged');
    expect(exchanges.map((e) => [e.targetId, e.details.claims.run_id])).toEqual([
      [live.id, '4'],
      [withinGrace.id, '3'],
      [idle.id, '2'],
      [writer.id, '1'],
    ]);

    const web = new WebClient(ts.url);
    await web.signIn('olga');
    const auditPage = await web.get('/ui/orgs/acme/audit');
    expect(auditPage.status).toBe(200);
    // A swept token is shown by the name its creation recorded, marked gone, its id kept beside it; its claims
    // are in the event's own details.
    expect(auditPage.text).toContain(
      `<span title="${idle.id}" data-id="${idle.id}">token “GitHub Actions: acme/mono@refs/heads/main” (gone)</span>`,
    );
    expect(auditPage.text).toContain('run_id: 2;');
    expect(auditPage.text).toContain('token “GitHub Actions: acme/mono@refs/heads/main”');
    for (const path of ['/ui/orgs/acme/tokens', `/ui/workspaces/${ws}`]) {
      const page = await web.get(path);
      expect(page.status).toBe(200);
      expect(page.text).toContain(`data-token-id="${live.id}"`);
      expect(page.text).not.toContain(`data-token-id="${idle.id}"`);
    }

    // With the entry gone, nothing names the writer's grant any more: the next pass removes it.
    await api(ts, 'POST', '/entries/purge', { workspace: ws, token: writer.id });
    await http(`${ts.url}/api/v1/retention/run`, { method: 'POST', token: ts.adminToken });
    expect(await ts.server.context.store.ciIdentity.findGrant(writer.id)).toBeUndefined();
    expect((await ts.server.context.store.ciIdentity.findGrant(withinGrace.id))?.summary).toBe(
      'acme/mono@refs/heads/main',
    );
  });
});
