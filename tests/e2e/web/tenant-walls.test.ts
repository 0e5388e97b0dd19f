/**
 * Tenants are walls, in headless Chromium and through the real CLI: an organisation's admin cannot mint a
 * token for another org's user, cannot set anyone's password with a token, cannot pull another org's bot
 * into his org or touch its machine token, and adding an existing person waits for that person's consent.
 * The tests run in order against one server.
 */
import { tmpdir } from 'node:os';
import type { Page } from 'playwright-core';
import { CONTENT_SECURITY_POLICY } from '../../../src/server/routes/web/web-routes';
import {
  type BootstrappedWorkspace,
  type RunningServer,
  CLI_ENTRY,
  bootstrapWorkspace,
  cli,
  createToken,
  killAllTrackedProcesses,
  runCli,
  runProcess,
  startServer,
} from '../harness';
import { launchBrowser, screenshot, signIn, type TestBrowser } from './browser';

const PASSWORD = 'a long and careful passphrase';

describe('tenant walls in the admin page and the CLI', () => {
  let server: RunningServer;
  let acme: BootstrappedWorkspace;
  let rivalWorkspace: string;
  let browser: TestBrowser;
  let page: Page;
  let malloryToken: string;
  let botTokenId: string;

  const asMallory = (args: string[], input?: string) =>
    input === undefined
      ? runCli([...args, '--url', server.url, '--token', malloryToken, '--json'])
      : runProcess(process.execPath, [CLI_ENTRY, ...args, '--url', server.url, '--token', malloryToken, '--json'], {
          cwd: tmpdir(),
          env: process.env,
          timeoutMs: 30_000,
          input,
        });

  beforeAll(async () => {
    server = await startServer();
    acme = await bootstrapWorkspace(server, { orgName: 'acme', workspaceName: 'monorepo' });
    await cli(['org', 'create', 'rival'], acme.target);
    rivalWorkspace = (await cli<{ id: string }>(['workspace', 'create', '--org', 'rival', 'rival-mono'], acme.target))
      .id;
    for (const [name, org] of [
      ['ada', 'acme'],
      ['mallory', 'rival'],
    ] as const) {
      await cli(['user', 'create', name], acme.target);
      await cli(['member', 'add', '--org', org, '--user', name, '--role', 'admin'], acme.target);
    }
    await cli(['user', 'create', 'acme-bot', '--bot', '--org', 'acme'], acme.target);
    botTokenId = (
      await createToken(acme.target, {
        kind: 'personal',
        user: 'acme-bot',
        workspace: acme.workspace.id,
        tier: 'trusted',
        name: 'acme primer',
      })
    ).id;
    malloryToken = (await createToken(acme.target, { kind: 'personal', user: 'mallory', name: 'mallory laptop' }))
      .token;
    // Passwords are set by a server admin on the server itself, with the server stopped.
    await server.stop();
    for (const user of ['ada', 'mallory']) {
      const set = await runProcess(
        process.execPath,
        [CLI_ENTRY, 'user', 'set-password', user, '--data-dir', server.dataDir],
        { cwd: tmpdir(), env: process.env, timeoutMs: 30_000, input: `${PASSWORD}\n` },
      );
      if (set.exitCode !== 0) throw new Error(`set-password failed: ${set.stderr}`);
    }
    await server.restart();
    browser = await launchBrowser(CONTENT_SECURITY_POLICY);
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    killAllTrackedProcesses();
  });

  afterEach(() => {
    expect(browser.pagesWithoutCsp).toEqual([]);
  });

  it("refuses, on the CLI, a personal token for another org's user and a password set with a token", async () => {
    for (const victim of ['ada', 'admin']) {
      const minted = await asMallory([
        'token',
        'create',
        '--kind',
        'personal',
        '--user',
        victim,
        '--workspace',
        rivalWorkspace,
      ]);
      expect(minted.exitCode).toBe(1);
      expect(minted.stdout).toContain('ERR_AUTH_FORBIDDEN');
    }
    const password = await asMallory(['user', 'set-password', 'admin'], 'a guess\na brand new password\n');
    expect(password.exitCode).toBe(1);
    expect(password.stdout).toContain('ERR_AUTH_FORBIDDEN');
    const bot = await asMallory(['member', 'add', '--org', 'rival', '--user', 'acme-bot']);
    expect(bot.stdout).toContain('ERR_AUTH_FORBIDDEN');
    const rotate = await asMallory(['token', 'rotate', botTokenId]);
    expect(rotate.stdout).toContain('ERR_AUTH_FORBIDDEN');
  });

  it('so the password he tried does not open a server-admin session in the page', async () => {
    await page.goto(`${server.url}/ui/sign-in`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill('a brand new password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('The user name or password is wrong');
    const stats = await page.goto(`${server.url}/ui/stats`);
    expect(stats?.url()).toBe(`${server.url}/ui/sign-in?next=%2Fui%2Fstats`);
  });

  it("refuses, in the page, to add another organisation's bot", async () => {
    await signIn(page, server.url, 'mallory', PASSWORD);
    await page.goto(`${server.url}/ui/orgs/rival/members`);
    await page.locator('#existing-name').fill('acme-bot');
    await page.getByRole('button', { name: 'Invite user' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Not allowed');
    await expect(page.getByRole('alert').textContent()).resolves.toContain('ERR_AUTH_FORBIDDEN');
    await screenshot(page, 'walls-01-bot-refused');
  });

  it("shows none of acme's tokens on rival's tokens page, and no acme page at all", async () => {
    await page.goto(`${server.url}/ui/orgs/rival/tokens`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('rival: Tokens');
    expect(await page.content()).not.toContain('acme primer');
    const acmeMembers = await page.goto(`${server.url}/ui/orgs/acme/members`);
    expect(acmeMembers?.status()).toBe(403);
  });

  it('invites an existing person, who joins only by accepting', async () => {
    await page.goto(`${server.url}/ui/orgs/rival/members`);
    await page.locator('#existing-name').fill('ada');
    await page.getByRole('button', { name: 'Invite user' }).click();
    await expect(page.getByRole('status').first().textContent()).resolves.toContain('Invitation sent');
    expect(await page.locator('tr[data-member="ada"]').count()).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, server.url, 'ada', PASSWORD);
    await page.goto(`${server.url}/ui/orgs`);
    const row = page.locator('tr[data-invitation="rival"]');
    await expect(row.textContent()).resolves.toContain('member');
    await screenshot(page, 'walls-02-invitation');
    await row.getByRole('button', { name: 'Accept' }).click();
    await expect(page.getByRole('status').first().textContent()).resolves.toContain('Invitation accepted');
    await expect(page.getByRole('link', { name: 'rival' }).count()).resolves.toBe(1);
    const members = await cli<{ userName: string }[]>(['member', 'list', '--org', 'rival'], acme.target);
    expect(members.map((m) => m.userName)).toContain('ada');
  });
});
