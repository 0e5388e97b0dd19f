/**
 * The first hour of a server administrator, in one pass against a real server: the one-time sign-in
 * link printed at the first start, `org create` making its creator the admin, the admin CLI's own
 * variable, browser login and `logout` revoking, and `admin reset-token` on the stopped server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runLogin, type LoginIo } from '../../../src/cli/commands/login';
import { runLogout } from '../../../src/cli/commands/logout';
import { readStoredCredential } from '../../../src/client/credentials-store';
import { resetAdminToken } from '../../../src/server/admin-init';
import { buildServer } from '../../../src/server/app';
import { FIRST_SIGN_IN_LIFETIME_MS } from '../../../src/server/web/first-sign-in';
import { api, http, makeTempDir, startTestServer, type TestServer } from './test-server';
import { field, PASSWORD, userWithPassword, WebClient } from './web-test-client';
import { runCliCaptured } from '../cli/cli-captured';

let ts: TestServer;
let scratch: string;
beforeEach(async () => {
  ts = await startTestServer();
  scratch = mkdtempSync(join(tmpdir(), 'nxsc-first-hour-'));
});
afterEach(async () => {
  // Some tests restart the server on the same data dir, so close whichever one runs now.
  await ts.server.close();
  rmSync(ts.dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

async function cli(env: Record<string, string>, ...argv: string[]) {
  return runCliCaptured(argv, env);
}

/** Follows the printed link as the administrator would, and sets a password. */
async function useFirstSignInLink(client: WebClient, path: string, password = PASSWORD) {
  const form = await client.get(path);
  expect(form.status).toBe(200);
  return client.post(path, { csrf: field(form.text, 'csrf'), password });
}

function loginIo(out: string[], onSleep: () => Promise<void>): LoginIo {
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

/** Approves the code the CLI printed on its second wait, in the given signed-in page; then runs `after`. */
function approvingIo(out: string[], client: WebClient, after: () => Promise<unknown> = async () => undefined): LoginIo {
  let waits = 0;
  return loginIo(out, async () => {
    const code = out.map((l) => /^\s+([A-Z]{4}-[A-Z]{4})$/.exec(l)?.[1]).find(Boolean);
    if (code === undefined || waits++ !== 1) return;
    const entry = await client.get('/ui/device');
    const confirm = await client.post('/ui/device', { csrf: field(entry.text, 'csrf'), code });
    expect(confirm.status).toBe(200);
    await client.post('/ui/device/approve', { csrf: field(confirm.text, 'csrf'), code: field(confirm.text, 'code') });
    await after();
  });
}

describe('the first start', () => {
  it('offers a one-time link that sets the admin password and signs in; it works once and never for a bad password', async () => {
    const link = ts.server.firstSignIn;
    expect(link).toMatchObject({ userName: 'admin', path: expect.stringMatching(/^\/ui\/first-sign-in\/[\w-]{43}$/) });
    const path = link?.path ?? '';
    const client = new WebClient(ts.url);
    const weak = await useFirstSignInLink(client, path, 'short');
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('12');
    const done = await useFirstSignInLink(client, path);
    expect(done).toMatchObject({ status: 303, location: '/ui/orgs' });
    expect((await client.get('/ui/tokens')).status).toBe(200);
    // Used up: the same link, in another browser, is refused.
    const again = await new WebClient(ts.url).get(path);
    expect(again.status).toBe(404);
    expect(again.text).toContain('ERR_WEB_INVITE_INVALID');
    expect((await new WebClient(ts.url).signIn('admin')).location).toBe('/ui/tokens');
    expect(await ts.server.context.store.listAudit({ limit: 20 })).toContainEqual(
      expect.objectContaining({ action: 'user.password-set' }),
    );
  });

  it('refuses a guessed link, and the real one once it expired', async () => {
    const path = ts.server.firstSignIn?.path ?? '';
    expect((await new WebClient(ts.url).get(`/ui/first-sign-in/${'A'.repeat(43)}`)).status).toBe(404);
    ts.clock.advance(FIRST_SIGN_IN_LIFETIME_MS + 1000);
    expect((await new WebClient(ts.url).get(path)).status).toBe(404);
  });

  it('never writes the link into the server log, not even in the request line', async () => {
    await ts.server.close();
    const logs: string[] = [];
    ts.server = await buildServer({
      dataDir: ts.dataDir,
      port: 0,
      logLevel: 'info',
      logDestination: { write: (line) => logs.push(line) },
    });
    const path = ts.server.firstSignIn?.path ?? '';
    const code = path.split('/').pop() ?? '';
    expect(code).toHaveLength(43);
    expect((await new WebClient(ts.server.url as string).get(path)).status).toBe(200);
    expect(logs.join('\n')).toContain('/ui/first-sign-in/[redacted]');
    expect(logs.join('\n')).not.toContain(code);
  });

  it('is not offered again once the administrator has a password', async () => {
    await useFirstSignInLink(new WebClient(ts.url), ts.server.firstSignIn?.path ?? '');
    await ts.server.close();
    const restarted = await buildServer({ dataDir: ts.dataDir, listen: false, logLevel: false });
    try {
      expect(restarted.firstSignIn).toBeUndefined();
    } finally {
      await restarted.close();
    }
    ts.server = await buildServer({ dataDir: ts.dataDir, port: 0, logLevel: false });
  });
});

describe('onboarding in one pass', () => {
  it('the creator of an organisation is its admin, so their browser login can use its cache; logout revokes', async () => {
    const admin = new WebClient(ts.url);
    await useFirstSignInLink(admin, ts.server.firstSignIn?.path ?? '');
    // The admin CLI reads its own variable; nothing in NX_SEALED_CACHE_ACCESS_TOKEN.
    const env = { NX_SEALED_CACHE_URL: ts.url, NX_SEALED_CACHE_ADMIN_TOKEN: ts.adminToken };
    expect((await cli(env, 'org', 'create', 'acme')).code).toBe(0);
    const members = await cli(env, 'member', 'list', '--org', 'acme', '--json');
    expect(JSON.parse(members.stdout)).toEqual([expect.objectContaining({ userName: 'admin', role: 'admin' })]);
    const ws = JSON.parse((await cli(env, 'workspace', 'create', '--org', 'acme', 'web', '--json')).stdout) as {
      id: string;
    };

    const out: string[] = [];
    const loginEnv = approvingIo(out, admin);
    expect(await runLogin({ url: ts.url, workspace: ws.id, browser: true }, loginEnv)).toBe(0);
    expect(out.join('\n')).toMatch(/access: +read/);
    const stored = readStoredCredential(ts.url, undefined, loginEnv.env, ws.id).credential;
    expect((await http(`${ts.url}/v1/access`, { token: stored?.token })).status).toBe(200);

    const outLogout: string[] = [];
    expect(await runLogout({ url: ts.url }, { ...loginEnv, out: (l) => outLogout.push(l) })).toBe(0);
    expect(outLogout.join('\n')).toContain('revoked');
    const after = await http(`${ts.url}/v1/access`, { token: stored?.token });
    expect(after.status).toBe(401);
    expect(after.text).toContain('ERR_AUTH_TOKEN_REVOKED');
  });

  it('a login whose approver loses access before the token is issued exits 1, says why, and saves nothing', async () => {
    const org = await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'acme' });
    const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', { org: org.id, name: 'web' });
    await userWithPassword(ts, 'ada');
    await api(ts, 'POST', `/orgs/acme/members`, { user: 'ada' });
    const ada = new WebClient(ts.url);
    await ada.signIn('ada');
    const out: string[] = [];
    const io = approvingIo(out, ada, () => api(ts, 'DELETE', '/orgs/acme/members/ada'));
    expect(await runLogin({ url: ts.url, workspace: ws.id, browser: true }, io)).toBe(1);
    expect(out.join('\n')).toMatch(/ERR_LOGIN_REQUEST_DENIED: ada has no access/);
    expect(readStoredCredential(ts.url, undefined, io.env, ws.id).credential).toBeNull();
  });

  it('a server administrator who is not a member is told how to add themselves when approving', async () => {
    const other = await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'other' });
    await api(ts, 'DELETE', '/orgs/other/members/admin');
    const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', { org: other.id, name: 'web' });
    const admin = new WebClient(ts.url);
    await useFirstSignInLink(admin, ts.server.firstSignIn?.path ?? '');
    const started = await http(`${ts.url}/api/v1/login/requests`, {
      method: 'POST',
      body: { hostname: 'box', workspaceId: ws.id },
    });
    const entry = await admin.get('/ui/device');
    const refused = await admin.post('/ui/device', {
      csrf: field(entry.text, 'csrf'),
      code: started.json<{ userCode: string }>().userCode,
    });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('member add --org');
  });
});

describe('admin reset-token --data-dir', () => {
  it('revokes the lost admin token and prints a new one that works, only with the server stopped', async () => {
    await expect(resetAdminToken({ dataDir: ts.dataDir })).rejects.toMatchObject({ code: 'ERR_DATA_DIR_LOCKED' });
    await ts.server.close();
    const reset = await cli({}, 'admin', 'reset-token', '--data-dir', ts.dataDir, '--json');
    expect(reset.code).toBe(0);
    const { token, revokedTokenIds } = JSON.parse(reset.stdout) as { token: string; revokedTokenIds: string[] };
    expect(token).toMatch(/^nxsc_adm_/);
    expect(revokedTokenIds).toHaveLength(1);
    ts.server = await buildServer({ dataDir: ts.dataDir, port: 0, logLevel: false });
    const url = ts.server.url as string;
    expect((await http(`${url}/api/v1/users`, { token: ts.adminToken })).status).toBe(401);
    expect((await http(`${url}/api/v1/users`, { token })).status).toBe(200);
  });

  it('refuses a folder that is no data directory and a name that is no administrator', async () => {
    const empty = makeTempDir('nxsc-not-data-');
    try {
      expect((await cli({}, 'admin', 'reset-token', '--data-dir', empty)).stderr).toContain('ERR_INPUT_INVALID');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    await ts.server.close();
    const wrong = await cli({}, 'admin', 'reset-token', '--data-dir', ts.dataDir, '--name', 'nobody');
    expect(wrong).toMatchObject({ code: 1, stderr: expect.stringContaining('ERR_USER_NOT_FOUND') });
    ts.server = await buildServer({ dataDir: ts.dataDir, port: 0, logLevel: false });
  });
});
