/** Browser-approved CLI login against a real server: the API, the approval page and `runLogin --browser`. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { runLogin, type LoginIo } from '../../../src/cli/commands/login';
import { credentialsFilePath } from '../../../src/client/credentials-store';
import { api, http, startTestServer, type TestServer } from './test-server';
import { field, userWithPassword, WebClient } from './web-test-client';

let ts: TestServer;
let wsId: string;
let otherWsId: string;
let scratch: string;

interface Started {
  requestId: string;
  userCode: string;
  deviceCode: string;
  verificationUrl: string;
}

const USER_AGENT = 'nx-sealed-cache-cli (test agent)';

async function start(body: Record<string, unknown> = { hostname: 'build-box', workspaceId: wsId }): Promise<Started> {
  const result = await request(`${ts.url}/api/v1/login/requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: JSON.stringify(body),
  });
  expect(result.statusCode).toBe(201);
  return (await result.body.json()) as Started;
}

const poll = (started: Pick<Started, 'requestId' | 'deviceCode'>) =>
  http(`${ts.url}/api/v1/login/requests/${started.requestId}/poll`, {
    method: 'POST',
    body: { deviceCode: started.deviceCode },
  });

/** Types the code into the entry form, as a person would; answers the confirmation page. */
async function typeCode(client: WebClient, userCode: string) {
  const entry = await client.get('/ui/device');
  return client.post('/ui/device', { csrf: field(entry.text, 'csrf'), code: userCode });
}

async function approveInPage(client: WebClient, userCode: string) {
  const page = await typeCode(client, userCode);
  expect(page.status).toBe(200);
  expect(page.text).toContain('build-box');
  return client.post('/ui/device/approve', { csrf: field(page.text, 'csrf'), code: field(page.text, 'code') });
}

async function signedIn(name: string): Promise<WebClient> {
  const client = new WebClient(ts.url);
  await client.signIn(name);
  return client;
}

beforeAll(async () => {
  ts = await startTestServer();
  const org = await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'acme' });
  await api(ts, 'POST', '/orgs', { name: 'rival' });
  wsId = (
    await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono', memberDefaultAccess: 'read' })
  ).id;
  otherWsId = (
    await api<{ id: string }>(ts, 'POST', '/workspaces', {
      org: 'acme',
      name: 'second',
      memberDefaultAccess: 'read-write',
    })
  ).id;
  await userWithPassword(ts, 'ada');
  await api(ts, 'POST', `/orgs/${org.id}/members`, { user: 'ada', role: 'member' });
  await userWithPassword(ts, 'eve');
  await api(ts, 'POST', '/orgs/rival/members', { user: 'eve', role: 'member' });
});
afterAll(async () => ts.stop());
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'nxsc-login-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('login requests', () => {
  it('stay pending until approved, then hand out one personal token bound to the workspace, once', async () => {
    const started = await start();
    expect(started.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(started.verificationUrl).toBe(`${ts.url}/ui/device`);
    expect(started).not.toHaveProperty('verificationUrlComplete');
    expect(JSON.stringify(started)).not.toContain('code=');
    expect((await poll(started)).json()).toMatchObject({ status: 'pending' });
    const client = await signedIn('ada');
    const approved = await approveInPage(client, started.userCode.toLowerCase().replace('-', ''));
    expect(approved.text).toContain('CLI login approved');
    const answer = (await poll(started)).json<{
      status: string;
      token: string;
      tokenId: string;
      workspaceId: string;
      user: { name: string };
    }>();
    expect(answer).toMatchObject({ status: 'approved', user: { name: 'ada' }, workspaceId: wsId });
    const access = await http(`${ts.url}/v1/access`, { token: answer.token });
    expect(access.json()).toMatchObject({
      workspace: { id: wsId },
      principal: { kind: 'personal', user: { name: 'ada' } },
    });
    const again = await poll(started);
    expect(again.status).toBe(410);
    expect(again.text).not.toContain(answer.token);
  });

  it('give the member their own access (never wider), bound to the workspace, for 30 days', async () => {
    const read = await start();
    const client = await signedIn('ada');
    const page = await typeCode(client, read.userCode);
    expect(page.text).toContain('read, your own access there; valid 30 days');
    await client.post('/ui/device/approve', { csrf: field(page.text, 'csrf'), code: read.userCode });
    const token = (await poll(read)).json<{ token: string; tokenId: string }>();
    const access = (await http(`${ts.url}/v1/access`, { token: token.token })).json<{
      access: { read: boolean; write: boolean };
      expiresAt: string;
    }>();
    expect(access.access).toEqual({ read: true, write: false });
    expect(Date.parse(access.expiresAt) - ts.clock.now.getTime()).toBe(30 * 86_400_000);
    const record = (await api<{ id: string; workspaceId: string | null; access: string }[]>(ts, 'GET', '/tokens')).find(
      (t) => t.id === token.tokenId,
    );
    expect(record).toMatchObject({ workspaceId: wsId, access: 'read' });
    // Bound: the token does not serve another workspace, even one where ada may write.
    const elsewhere = await http(`${ts.url}/w/${otherWsId}/v1/access`, { token: token.token });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.json()).toMatchObject({ error: { code: 'ERR_AUTH_WORKSPACE_MISMATCH' } });

    const write = await start({ hostname: 'build-box', workspaceId: otherWsId });
    await approveInPage(client, write.userCode);
    const writer = (await poll(write)).json<{ token: string }>();
    expect((await http(`${ts.url}/v1/access`, { token: writer.token })).json()).toMatchObject({
      workspace: { id: otherWsId },
      access: { read: true, write: true },
    });
  });

  it('must name a workspace that exists', async () => {
    const missing = await http(`${ts.url}/api/v1/login/requests`, { method: 'POST', body: { hostname: 'build-box' } });
    expect(missing.status).toBe(400);
    expect(missing.json()).toMatchObject({ error: { code: 'ERR_INPUT_INVALID' } });
    const unknown = await http(`${ts.url}/api/v1/login/requests`, {
      method: 'POST',
      body: { hostname: 'build-box', workspaceId: 'ws_00000000000000000000' },
    });
    expect(unknown.status).toBe(404);
  });

  it('never take the code from a link: the page asks for it to be typed and warns', async () => {
    const started = await start();
    const client = await signedIn('ada');
    const linked = await client.get(`/ui/device?code=${started.userCode}`);
    expect(linked.status).toBe(200);
    expect(linked.text).toContain('Codes in links are not accepted');
    expect(linked.text).not.toContain(started.userCode);
    expect(linked.text).not.toContain('Approve this CLI login?');
    expect(field(linked.text, 'code')).toBe('');
    expect((await poll(started)).json()).toMatchObject({ status: 'pending' });
  });

  it('show where the request came from: machine, client address, program, time and workspace', async () => {
    const started = await start();
    const page = await typeCode(await signedIn('ada'), started.userCode);
    expect(page.status).toBe(200);
    for (const fact of ['build-box', '127.0.0.1', USER_AGENT, 'mono in acme', wsId, 'Requested', 'Expires'])
      expect(page.text).toContain(fact);
  });

  it('cannot be seen or approved by someone without access to the workspace, and name nothing to them', async () => {
    const started = await start();
    const eve = await signedIn('eve');
    const page = await typeCode(eve, started.userCode);
    expect(page.status).toBe(403);
    expect(page.text).toContain('no access to the workspace this login asks for');
    for (const name of ['mono', 'acme', wsId, 'build-box']) expect(page.text).not.toContain(name);
    const entry = await eve.get('/ui/device');
    const approve = await eve.post('/ui/device/approve', { csrf: field(entry.text, 'csrf'), code: started.userCode });
    expect(approve.status).toBe(403);
    expect((await poll(started)).json()).toMatchObject({ status: 'pending' });
  });

  it('issue nothing when the approver lost access between approving and the poll', async () => {
    await userWithPassword(ts, 'bea');
    await api(ts, 'POST', '/orgs/acme/members', { user: 'bea', role: 'member' });
    const started = await start();
    await approveInPage(await signedIn('bea'), started.userCode);
    await api(ts, 'PATCH', '/orgs/acme/members/bea', { workspace: wsId, access: 'none' });
    const answer = await poll(started);
    expect(answer.status).toBe(403);
    expect(answer.json()).toMatchObject({ error: { code: 'ERR_LOGIN_REQUEST_DENIED' } });
    const tokens = await api<{ userId: string | null }[]>(ts, 'GET', '/tokens?user=bea');
    expect(tokens).toHaveLength(0);
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
    const page = await typeCode(await signedIn('ada'), started.userCode);
    expect(page.status).toBe(410);
    expect((await poll(started)).status).toBe(410);
  });

  it('need the session and its CSRF token to look up or approve a code', async () => {
    const started = await start();
    const anonymous = new WebClient(ts.url);
    expect((await anonymous.post('/ui/device/approve', { code: started.userCode })).status).toBe(401);
    const client = await signedIn('ada');
    expect((await client.post('/ui/device', { code: started.userCode, csrf: 'wrong' })).status).toBe(403);
    expect((await client.post('/ui/device/approve', { code: started.userCode, csrf: 'wrong' })).status).toBe(403);
    expect((await poll(started)).json()).toMatchObject({ status: 'pending' });
  });
});

describe('nx-sealed-cache login --browser', () => {
  function loginIo(out: string[], onSleep: () => Promise<void> = async () => undefined): LoginIo {
    return {
      env: { XDG_CONFIG_HOME: join(scratch, 'config') },
      cwd: scratch,
      stdin: Readable.from([]),
      out: (line) => out.push(line),
      err: (line) => out.push(line),
      hostname: 'build-box',
      sleep: onSleep,
    };
  }

  it('prints the code and the page (never a link with the code or the polling secret), waits for approval and stores a working token', async () => {
    const client = await signedIn('ada');
    const out: string[] = [];
    let approvals = 0;
    // Each "wait" lets the user act in the page instead of sleeping.
    const io = loginIo(out, async () => {
      const code = out.map((l) => /^\s+([A-Z]{4}-[A-Z]{4})$/.exec(l)?.[1]).find(Boolean);
      if (code !== undefined && approvals++ === 1) await approveInPage(client, code);
    });
    expect(await runLogin({ url: ts.url, workspace: wsId, browser: true }, io)).toBe(0);
    const printed = out.join('\n');
    expect(printed).toMatch(/Logged in to .* as ada/);
    expect(printed).toContain(`${ts.url}/ui/device`);
    expect(printed).not.toContain('?code=');
    const file = JSON.parse(readFileSync(credentialsFilePath(undefined, io.env), 'utf8'));
    const stored = file.servers[`${ts.url}/w/${wsId}`];
    expect(stored).toMatchObject({ workspaceId: wsId, token: expect.stringMatching(/^nxsc_pat_/) });
    expect(printed).not.toContain(stored.token);
    expect((await http(`${ts.url}/v1/access`, { token: stored.token })).status).toBe(200);
  });

  it('refuses to start without a workspace, before asking the server', async () => {
    const out: string[] = [];
    expect(await runLogin({ url: ts.url, browser: true }, loginIo(out))).toBe(1);
    expect(out.join('\n')).toContain('ERR_AUTH_WORKSPACE_REQUIRED');
    expect(out.join('\n')).toContain('--workspace');
  });
});
