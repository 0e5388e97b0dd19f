/** Browser-approved CLI login against a real server: the API, the approval page and `runLogin --browser`. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runLogin, type LoginIo } from '../../../src/cli/commands/login';
import { credentialsFilePath } from '../../../src/client/credentials-store';
import { api, http, startTestServer, type TestServer } from './test-server';
import { field, userWithPassword, WebClient } from './web-test-client';

let ts: TestServer;
let wsId: string;
let scratch: string;

interface Started {
  requestId: string;
  userCode: string;
  deviceCode: string;
  verificationUrl: string;
}

async function start(body: Record<string, unknown> = { hostname: 'build-box', workspaceId: wsId }): Promise<Started> {
  const result = await http(`${ts.url}/api/v1/login/requests`, { method: 'POST', body });
  expect(result.status).toBe(201);
  return result.json<Started>();
}

const poll = (started: Pick<Started, 'requestId' | 'deviceCode'>) => http(`${ts.url}/api/v1/login/requests/${started.requestId}/poll`, { method: 'POST', body: { deviceCode: started.deviceCode } });

async function approveInPage(client: WebClient, userCode: string) {
  const page = await client.get(`/ui/device?code=${userCode}`);
  expect(page.text).toContain('build-box');
  return client.post('/ui/device/approve', { csrf: field(page.text, 'csrf'), code: field(page.text, 'code') });
}

beforeAll(async () => {
  ts = await startTestServer();
  const org = await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'acme' });
  wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' })).id;
  await userWithPassword(ts, 'ada');
  await api(ts, 'POST', `/orgs/${org.id}/members`, { user: 'ada', role: 'member' });
});
afterAll(async () => ts.stop());
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nxsc-login-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('login requests', () => {
  it('stay pending until approved, then hand out one working personal token, once', async () => {
    const started = await start();
    expect(started.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(started.verificationUrl).toBe(`${ts.url}/ui/device`);
    expect((await poll(started)).json()).toMatchObject({ status: 'pending' });
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    const approved = await approveInPage(client, started.userCode.toLowerCase().replace('-', ''));
    expect(approved.text).toContain('CLI login approved');
    const answer = (await poll(started)).json<{ status: string; token: string; user: { name: string } }>();
    expect(answer).toMatchObject({ status: 'approved', user: { name: 'ada' } });
    const access = await http(`${ts.url}/v1/access`, { token: answer.token });
    expect(access.json()).toMatchObject({ workspace: { id: wsId }, principal: { kind: 'personal', user: { name: 'ada' } } });
    const again = await poll(started);
    expect(again.status).toBe(410);
    expect(again.text).not.toContain(answer.token);
  });

  it('refuse a wrong polling code', async () => {
    const started = await start();
    const result = await poll({ requestId: started.requestId, deviceCode: 'not-the-device-code' });
    expect(result.status).toBe(404);
    expect(result.json()).toMatchObject({ error: { code: 'ERR_LOGIN_REQUEST_NOT_FOUND' } });
  });

  it('expire after ten minutes, for the page and for the CLI', async () => {
    const started = await start();
    ts.clock.advance(10 * 60_000);
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    const page = await client.get(`/ui/device?code=${started.userCode}`);
    expect(page.status).toBe(410);
    expect((await poll(started)).status).toBe(410);
  });

  it('need the session and its CSRF token to approve', async () => {
    const started = await start();
    const anonymous = new WebClient(ts.url);
    expect((await anonymous.post('/ui/device/approve', { code: started.userCode })).status).toBe(401);
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    expect((await client.post('/ui/device/approve', { code: started.userCode, csrf: 'wrong' })).status).toBe(403);
    expect((await poll(started)).json()).toMatchObject({ status: 'pending' });
  });
});

describe('nx-sealed-cache login --browser', () => {
  it('prints the code (never the polling secret), waits for approval and stores a working token', async () => {
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    const out: string[] = [];
    let approvals = 0;
    const io: LoginIo = {
      env: { XDG_CONFIG_HOME: join(scratch, 'config') },
      cwd: scratch,
      stdin: Readable.from([]),
      out: (line) => out.push(line),
      err: (line) => out.push(line),
      hostname: 'build-box',
      // Each "wait" lets the user act in the page instead of sleeping.
      sleep: async () => {
        const code = out.map((l) => /^\s+([A-Z]{4}-[A-Z]{4})$/.exec(l)?.[1]).find(Boolean);
        if (code !== undefined && approvals++ === 1) await approveInPage(client, code);
      },
    };
    expect(await runLogin({ url: ts.url, workspace: wsId, browser: true }, io)).toBe(0);
    expect(out.join('\n')).toMatch(/Logged in to .* as ada/);
    const stored = JSON.parse(readFileSync(credentialsFilePath(undefined, io.env), 'utf8')).servers[ts.url];
    expect(stored.token).toMatch(/^nxsc_pat_/);
    expect(out.join('\n')).not.toContain(stored.token);
    expect((await http(`${ts.url}/v1/access`, { token: stored.token })).status).toBe(200);
  });
});
