/**
 * Web sign-in through an identity provider, in headless Chromium against the real server and a real
 * OpenID provider (`oidc-provider`) on loopback: join by verified email domain, signing in again
 * through the linked identity, and the refusals (replayed state, ID token of another issuer, of another
 * client, with a replayed nonce, unverified email), none of which leaves a session. Then an
 * organisation that requires the provider refuses its pages to a password session. In order, one server.
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
  runProcess,
  startServer,
} from '../harness';
import { launchBrowser, screenshot, signIn, type TestBrowser } from '../web/browser';
import { startCorpSso, type CorpSso } from './corp-sso';
import { startTestProvider, type TestProvider } from './oidc-provider';

const PASSWORD = 'a long and careful passphrase';
const CLIENT_SECRET = 'corp-client-secret-7f3a9c1e5b';
const ACCOUNTS = {
  'alice-sub': { email: 'alice@acme.test', email_verified: true, name: 'Alice' },
  'carol-sub': { email: 'carol@acme.test', email_verified: false, name: 'Carol' },
  'dave-sub': { email: 'dave@elsewhere.test', email_verified: true, name: 'Dave' },
};

interface AuditRow {
  action: string;
  actorUserId: string | null;
  details: Record<string, unknown>;
}

describe('sign-in through an OIDC identity provider', () => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let idp: TestProvider;
  let otherIdp: TestProvider;
  let browser: TestBrowser;
  let page: Page;
  let corp: CorpSso | undefined;
  const callbacks: string[] = [];

  const signInPage = () => `${server.url}/ui/sign-in`;
  const audit = async (): Promise<AuditRow[]> => cli<AuditRow[]>(['audit', 'list', '--limit', '200'], boot.target);
  const refusals = async (): Promise<string[]> =>
    (await audit()).filter((e) => e.action === 'sso.refused').map((e) => String(e.details.reason));

  /** Clicks the provider's button on a fresh sign-in page (no cookies, so no session and no provider session). */
  async function startSso(account: string, expect: 'signed-in' | 'refused' = 'refused'): Promise<void> {
    await browser.context.clearCookies();
    await idp.signInAs(account);
    await page.goto(signInPage());
    await Promise.all([
      page.waitForURL((url) => url.pathname.endsWith('/ui/sign-in/sso/corp/callback')),
      page.getByRole('link', { name: 'Sign in with Corp SSO' }).click(),
    ]);
    // Signed in, the callback page moves on by itself (same-site, so the Strict session cookie goes along).
    if (expect === 'signed-in') await page.waitForURL(`${server.url}/ui/tokens`);
  }

  async function expectNoSession(): Promise<void> {
    await page.goto(`${server.url}/ui/tokens`);
    expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
  }

  beforeAll(async () => {
    corp = await startCorpSso({
      accounts: ACCOUNTS,
      clientSecret: CLIENT_SECRET,
      provider: { algorithms: ['RS256', 'ES256', 'PS256'] },
      extraClients: [{ client_id: 'another-app', client_secret: 'another-secret-value', redirect_uris: [] }],
    });
    idp = corp.idp;
    otherIdp = await startTestProvider({ clients: corp.clients, accounts: ACCOUNTS });
    server = await startServer({ port: corp.port, args: ['--sso-config', corp.ssoConfig], env: corp.env });
    boot = await bootstrapWorkspace(server, { orgName: 'acme', workspaceName: 'monorepo' });
    await cli(['user', 'create', 'ada'], boot.target);
    await cli(['member', 'add', '--org', 'acme', '--user', 'ada', '--role', 'admin'], boot.target);
    await server.stop();
    const set = await runProcess(
      process.execPath,
      [CLI_ENTRY, 'user', 'set-password', 'ada', '--data-dir', server.dataDir],
      {
        cwd: tmpdir(),
        env: process.env,
        timeoutMs: 30_000,
        input: `${PASSWORD}\n`,
      },
    );
    if (set.exitCode !== 0) throw new Error(`set-password failed: ${set.stderr}`);
    await server.restart();
    browser = await launchBrowser(CONTENT_SECURITY_POLICY);
    page = await browser.newPage();
    page.on('request', (request) => {
      if (request.url().includes('/ui/sign-in/sso/corp/callback')) callbacks.push(request.url());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    await otherIdp?.stop();
    await corp?.dispose();
  });

  it('the sign-in page offers the provider and keeps the password form for break-glass use', async () => {
    await page.goto(signInPage());
    await expect(page.getByRole('link', { name: 'Sign in with Corp SSO' }).isVisible()).resolves.toBe(true);
    await expect(page.getByText('For break-glass use').isVisible()).resolves.toBe(true);
    await expect(page.getByLabel('Password').isVisible()).resolves.toBe(true);
    await screenshot(page, 'sso-sign-in');
  });

  it('an unknown identity whose domain no organisation claims is refused, and no user is made', async () => {
    await startSso('alice-sub');
    await expect(page.locator('.notice').innerText()).resolves.toMatch(/no organisation lets acme\.test join/);
    await expectNoSession();
    const users = await cli<{ name: string }[]>(['user', 'list'], boot.target);
    expect(users.map((u) => u.name)).not.toContain('alice');
  });

  it('a server admin lets the domain join acme; a verified email joins with the granted role and lands signed in', async () => {
    const policy = await cli<{ joinDomains: { domain: string; role: string }[] }>(
      ['org', 'sign-in-policy', 'set', 'acme', '--join-domain', 'acme.test:member'],
      boot.target,
    );
    expect(policy.joinDomains).toEqual([{ domain: 'acme.test', role: 'member' }]);
    await startSso('alice-sub', 'signed-in');
    await expect(page.locator('.who').innerText()).resolves.toContain('Signed in as alice');
    const members = await cli<{ userName: string; role: string }[]>(['member', 'list', '--org', 'acme'], boot.target);
    expect(members).toContainEqual(expect.objectContaining({ userName: 'alice', role: 'member' }));
    const events = await audit();
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['sso.joined', 'sso.signed-in']));
    expect(events.find((e) => e.action === 'sso.joined')?.details).toMatchObject({
      domain: 'acme.test',
      role: 'member',
    });
  });

  it('the same identity signs in again through its link (issuer + sub), without joining twice', async () => {
    const joinsBefore = (await audit()).filter((e) => e.action === 'sso.joined').length;
    await startSso('alice-sub', 'signed-in');
    await expect(page.locator('.who').innerText()).resolves.toContain('Signed in as alice');
    expect((await audit()).filter((e) => e.action === 'sso.joined').length).toBe(joinsBefore);
  });

  it('a replayed callback (state already used) is refused with a clear message and no session', async () => {
    const used = callbacks.at(-1) as string;
    await browser.context.clearCookies();
    await page.goto(used);
    await expect(page.locator('.notice').innerText()).resolves.toMatch(/already used or is unknown/);
    await expectNoSession();
    expect(await refusals()).toContain('state-unknown-or-used');
  });

  it('an ID token from another issuer is refused', async () => {
    await browser.context.clearCookies();
    await otherIdp.signInAs('alice-sub');
    await page.goto(otherIdp.mintUrl('nx-sealed-cache'));
    await expect(page.locator('body').innerText()).resolves.toContain('minted an ID token');
    await idp.swapNextIdToken((await otherIdp.lastIdToken('nx-sealed-cache')) as string);
    await startSso('alice-sub');
    await expect(page.locator('.notice').innerText()).resolves.toMatch(/did not pass the checks.*iss/);
    await expectNoSession();
  });

  it('an ID token issued to another client (wrong audience) is refused', async () => {
    await browser.context.clearCookies();
    await idp.signInAs('alice-sub');
    await page.goto(idp.mintUrl('another-app'));
    await expect(page.locator('body').innerText()).resolves.toContain('minted an ID token');
    await idp.swapNextIdToken((await idp.lastIdToken('another-app')) as string);
    await startSso('alice-sub');
    await expect(page.locator('.notice').innerText()).resolves.toMatch(/did not pass the checks.*aud/);
    await expectNoSession();
  });

  it('a replayed ID token (the nonce of an earlier sign-in) is refused', async () => {
    const earlier = (await idp.lastIdToken('nx-sealed-cache')) as string;
    expect(earlier).toBeTruthy();
    await idp.swapNextIdToken(earlier);
    await startSso('alice-sub');
    await expect(page.locator('.notice').innerText()).resolves.toMatch(/did not pass the checks.*nonce/);
    await expectNoSession();
    expect((await refusals()).filter((r) => r.startsWith('invalid-response')).length).toBe(3);
  });

  it('an unverified email does not join', async () => {
    await startSso('carol-sub');
    await expect(page.locator('.notice').innerText()).resolves.toMatch(/email address is not verified/);
    await expectNoSession();
    const users = await cli<{ name: string }[]>(['user', 'list'], boot.target);
    expect(users.map((u) => u.name)).not.toContain('carol');
    expect(await refusals()).toContain('email-unverified');
  });

  it("an organisation that requires the provider refuses its pages to a password session, and admits the provider's", async () => {
    await cli(
      ['org', 'sign-in-policy', 'set', 'acme', '--require-provider', 'corp', '--join-domain', 'acme.test:member'],
      boot.target,
    );
    await browser.context.clearCookies();
    await signIn(page, server.url, 'ada', PASSWORD);
    const refused = await page.goto(`${server.url}/ui/orgs/acme/members`);
    expect(refused?.status()).toBe(403);
    await expect(page.locator('main').innerText()).resolves.toMatch(/must sign in with Corp SSO/);
    await expect(page.locator('.notice').innerText()).resolves.toContain('ERR_WEB_SSO_REQUIRED');
    expect((await page.goto(`${server.url}/ui/orgs/acme/workspaces`))?.status()).toBe(403);
    await startSso('alice-sub', 'signed-in');
    expect((await page.goto(`${server.url}/ui/orgs/acme/workspaces`))?.status()).toBe(200);
    await expect(page.locator('main').innerText()).resolves.toContain('monorepo');
  });

  it('never logs the client secret', () => {
    expect(server.output()).not.toContain(CLIENT_SECRET);
  });
});
