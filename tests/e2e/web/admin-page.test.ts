/**
 * The admin web page in headless Chromium against the real server (issue 7), and the browser-approved
 * CLI login (issue 5). The tests run in order: one server, one org and workspace, one Nx 24 workspace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { CONTENT_SECURITY_POLICY } from '../../../src/server/routes/web/web-routes';
import {
  CLI_ENTRY,
  type BootstrappedWorkspace,
  type NxWorkspace,
  type RunningServer,
  type TestBed,
  assertFailed,
  assertSucceeded,
  cli,
  createToken,
  runProcess,
  selfHostedCacheEnv,
  setWorkspaceAnonymousAccess,
  startCliLogin,
  storedToken,
  startTestBed,
  expectOutcomes,
} from '../harness';
import { launchBrowser, screenshot, signIn, type TestBrowser } from './browser';

const PASSWORD = 'a long and careful passphrase';

/** Passwords are set by a server admin on the server itself, with the server stopped (no token can set one). */
async function setPasswordsOffline(running: RunningServer, users: string[]): Promise<void> {
  await running.stop();
  for (const user of users) {
    const result = await runProcess(
      process.execPath,
      [CLI_ENTRY, 'user', 'set-password', user, '--data-dir', running.dataDir],
      { cwd: tmpdir(), env: process.env, timeoutMs: 30_000, input: `${PASSWORD}\n` },
    );
    if (result.exitCode !== 0) throw new Error(`set-password failed: ${result.stderr}`);
  }
  await running.restart();
}

async function cachePut(url: string, token: string, hash: string): Promise<{ status: number; text: string }> {
  const response = await request(`${url}/v1/cache/${hash}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: 'artifact',
  });
  return { status: response.statusCode, text: await response.body.text() };
}

async function cacheStatus(url: string, token?: string): Promise<{ status: number; text: string }> {
  const response = await request(`${url}/v1/cache/0123456789`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.statusCode, text: await response.body.text() };
}

describe('the admin web page in Chromium', () => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let browser: TestBrowser;
  let page: Page;
  let ws: NxWorkspace;
  let tokenValue: string;

  let bed: TestBed | undefined;

  beforeAll(async () => {
    bed = await startTestBed('nx24', {
      tokens: false,
      bootstrap: { orgName: 'acme', workspaceName: 'monorepo', anonymous: 'read' },
    });
    ({ server, boot, ws } = bed);
    for (const [name, role] of [
      ['ada', 'admin'],
      ['bob', 'member'],
    ] as const) {
      await cli(['user', 'create', name], boot.target);
      await cli(['member', 'add', '--org', boot.org.id, '--user', name, '--role', role], boot.target);
    }
    await setPasswordsOffline(server, ['ada', 'bob']);
    browser = await launchBrowser(CONTENT_SECURITY_POLICY);
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await bed?.dispose();
  });

  afterEach(() => {
    expect(browser.pagesWithoutCsp).toEqual([]);
  });

  it('signs in', async () => {
    await page.goto(`${server.url}/ui/tokens`);
    expect(page.url()).toBe(`${server.url}/ui/sign-in?next=%2Fui%2Ftokens`);
    await screenshot(page, '01-sign-in');
    await page.getByLabel('User name').fill('ada');
    await page.getByLabel('Password').fill('wrong password, surely');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('The user name or password is wrong');
    await signIn(page, server.url, 'ada', PASSWORD);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('My tokens');
  });

  it("admin gives members read-write by default in the workspace's settings", async () => {
    await page.goto(`${server.url}/ui/orgs/acme/workspaces`);
    await page.getByRole('link', { name: 'monorepo' }).click();
    await page.getByLabel("Members' default for personal tokens").selectOption('read-write');
    await page.getByRole('button', { name: 'Save access' }).click();
    await expect(page.getByRole('status').first().textContent()).resolves.toContain('Access levels saved');
    await page.goto(`${server.url}/ui/tokens`);
  });

  it('creates a token and shows its value once; a reload does not show it again', async () => {
    await page.getByLabel('Name').fill('laptop');
    await page.getByLabel('Workspace', { exact: true }).selectOption(boot.workspace.id);
    await page.getByRole('button', { name: 'Create token' }).click();
    tokenValue = (await page.locator('#token-value').textContent()) ?? '';
    expect(tokenValue).toMatch(/^nxsc_pat_[A-Za-z0-9]{38}$/);
    await expect(page.locator('#shell-lines').textContent()).resolves.toContain(
      `export NX_SEALED_CACHE_ACCESS_TOKEN=${tokenValue}`,
    );
    await expect(page.getByRole('button', { name: 'Copy' }).first().isVisible()).resolves.toBe(true);
    await screenshot(page, '03-token-created');
    await page.reload();
    expect(await page.content()).not.toContain(tokenValue);
    await page.goto(`${server.url}/ui/tokens`);
    expect(await page.content()).not.toContain(tokenValue);
    await expect(page.locator('tr', { hasText: 'laptop' }).count()).resolves.toBe(1);
    await expect(page.locator('tr', { hasText: 'laptop' }).locator('td').nth(4).textContent()).resolves.toBe(
      'isolated',
    );
    const card = await page.locator('section.card').first().boundingBox();
    const heading = await page.getByRole('heading', { name: 'Create a token' }).boundingBox();
    expect((heading?.y ?? 0) - (card?.y ?? 0)).toBeLessThan(24);
    await screenshot(page, '02-tokens');
  });

  it('that token works with the real nx CLI: a run stores, a second run after reset hits the remote cache', async () => {
    const first = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, tokenValue)));
    expectOutcomes(first, { a: 'miss', b: 'miss', c: 'miss', d: 'miss' });
    await ws.reset();
    const second = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, tokenValue)));
    expectOutcomes(second, { a: 'remote', b: 'remote', c: 'remote', d: 'remote' });
  });

  it('rotates the token: the new value works, the old one is refused by the cache route', async () => {
    await page.goto(`${server.url}/ui/tokens`);
    await page.getByRole('button', { name: 'Rotate laptop' }).click();
    const rotated = (await page.locator('#token-value').textContent()) ?? '';
    expect(rotated).toMatch(/^nxsc_pat_/);
    expect(rotated).not.toBe(tokenValue);
    expect((await cacheStatus(server.url, tokenValue)).status).toBe(401);
    expect((await cacheStatus(server.url, rotated)).status).toBe(404);
  });

  it('admin lowers the anonymous access level and an anonymous run loses access', async () => {
    const anonymousUrl = `${server.url}/w/${boot.workspace.id}`;
    await ws.reset();
    // Anonymous readers see only the trusted tier, which ada's (isolated) writes did not reach: misses, but a green run.
    assertSucceeded(await ws.build(selfHostedCacheEnv(anonymousUrl)));
    await page.goto(`${server.url}/ui/orgs/acme/workspaces`);
    await page.getByRole('link', { name: 'monorepo' }).click();
    await screenshot(page, '05-workspace-settings');
    await page.getByLabel('Anonymous access').selectOption('none');
    await page.getByRole('button', { name: 'Save access' }).click();
    await expect(page.getByRole('status').first().textContent()).resolves.toContain('Access levels saved');
    await ws.reset();
    const after = assertFailed(await ws.build(selfHostedCacheEnv(anonymousUrl)));
    expect(`${after.stdout}${after.stderr}`).toContain('ERR_AUTH_ANONYMOUS_DENIED');
    await setWorkspaceAnonymousAccess(boot.target, boot.workspace.id, 'none');
  });

  it("admin changes a member's token to read-only and the member's next PUT is refused", async () => {
    const bobToken = await createToken(boot.target, {
      kind: 'personal',
      user: 'bob',
      workspace: boot.workspace.id,
      name: 'bob-laptop',
    });
    expect((await cachePut(server.url, bobToken.token, 'bob0000001')).status).toBe(200);
    await page.goto(`${server.url}/ui/orgs/acme/tokens`);
    await page.getByRole('button', { name: 'Make bob-laptop read', exact: true }).click();
    await expect(page.getByRole('status').first().textContent()).resolves.toContain('Token access changed');
    await expect(page.locator('tr', { hasText: 'bob-laptop' }).locator('.badge').first().textContent()).resolves.toBe(
      'read',
    );
    const refused = await cachePut(server.url, bobToken.token, 'bob0000002');
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('ERR_CACHE_WRITE_DENIED');
  });

  it("admin removes a member and that member's token stops working", async () => {
    const bobToken = await createToken(boot.target, { kind: 'personal', user: 'bob', workspace: boot.workspace.id });
    expect((await cacheStatus(server.url, bobToken.token)).status).toBe(404);
    await page.goto(`${server.url}/ui/orgs/acme/members`);
    await screenshot(page, '04-members');
    await page.getByRole('button', { name: 'Remove bob' }).click();
    await expect(page.getByRole('status').first().textContent()).resolves.toContain('Member removed');
    const refused = await cacheStatus(server.url, bobToken.token);
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/^ERR_AUTH_NOT_MEMBER/);
  });

  it('approves a CLI login in the page and the CLI receives a working token', async () => {
    const home = mkdtempSync(join(tmpdir(), 'nxsc-login-home-'));
    try {
      const login = await startCliLogin(server.url, boot.workspace.id, home);
      const { code, output, exited } = login;
      // A link carrying the code is ignored: the code must be typed.
      await page.goto(`${server.url}/ui/device?code=${code}`);
      await expect(page.getByLabel('Code from your terminal').inputValue()).resolves.toBe('');
      expect(output()).not.toContain('?code=');
      await page.getByLabel('Code from your terminal').fill(code);
      await page.getByRole('button', { name: 'Continue' }).click();
      await expect(page.locator('.user-code').textContent()).resolves.toBe(code);
      // Where the request came from, and the one workspace the token will serve.
      const facts = (await page.locator('dl.facts').textContent()) ?? '';
      for (const fact of ['127.0.0.1', 'nx-sealed-cache-cli', boot.workspace.id]) expect(facts).toContain(fact);
      await page.getByRole('button', { name: 'Approve' }).click();
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('CLI login approved');
      expect(await exited).toBe(0);
      expect(output()).toMatch(/Logged in to .* as ada/);
      const stored = storedToken(home, server.url, boot.workspace.id);
      expect(stored.workspaceId).toBe(boot.workspace.id);
      expect(output()).not.toContain(stored.token);
      expect((await cacheStatus(server.url, stored.token)).status).toBe(404);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses a POST without or with a wrong CSRF token, and from a signed-out browser', async () => {
    await page.goto(`${server.url}/ui/tokens`);
    const without = await page.request.post(`${server.url}/ui/tokens`, {
      form: { name: 'sneaky' },
      headers: { origin: server.url },
    });
    expect(without.status()).toBe(403);
    const wrong = await page.request.post(`${server.url}/ui/tokens`, {
      form: { name: 'sneaky', csrf: 'x'.repeat(43) },
      headers: { origin: server.url },
    });
    expect(wrong.status()).toBe(403);
    const other = await browser.context.browser()?.newContext();
    const fresh = await (other ?? browser.context).newPage();
    await fresh.goto(`${server.url}/ui/orgs/acme/members`);
    expect(fresh.url()).toContain('/ui/sign-in?next=');
    await fresh.close();
    await other?.close();
  });

  it('shows the audit log and cache statistics', async () => {
    await page.goto(`${server.url}/ui/orgs/acme/audit`);
    await expect(page.locator('table').textContent()).resolves.toContain('member.removed');
    await screenshot(page, '06-audit');
    await page.goto(`${server.url}/ui/stats`);
    await expect(page.locator('svg.chart').count()).resolves.toBe(1);
    await screenshot(page, '07-stats');
  });

  it('refuses a session after sign-out, even with the old cookie', async () => {
    const cookies = await browser.context.cookies(server.url);
    const session = cookies.find((c) => c.name === 'nxsc_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${server.url}/ui/sign-in`);
    const reused = await request(`${server.url}/ui/tokens`, { headers: { cookie: `nxsc_session=${session?.value}` } });
    await reused.body.text();
    expect(reused.statusCode).toBe(303);
  });
});
