/**
 * `nx-sealed-cache login` through SSO, end to end: the real CLI starts a browser login, a browser with
 * no session opens the approval page, signs in through a real OpenID provider (`oidc-provider` on
 * loopback) and comes back to the same approval page, approves, and the CLI receives a working token.
 * The return-to path survives the provider round trip, and only as a same-origin path. Then access
 * ends with the identity: the provider hands out refresh tokens, one person is disabled at the provider,
 * and the re-check revokes the token their login made (audited), while another person's token works on.
 */
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { CONTENT_SECURITY_POLICY } from '../../../src/server/routes/web/web-routes';
import { type BootstrappedWorkspace, type RunningServer, bootstrapWorkspace, cli, startServer } from '../harness';
import { launchBrowser, type TestBrowser } from '../web/browser';
import { startCorpSso, type CorpSso } from './corp-sso';
import type { TestProvider } from './oidc-provider';
import { ssoCliLogin } from './sso-login-flow';

const CLIENT_SECRET = 'corp-client-secret-2b8d4f6a1c';
const ACCOUNTS = {
  'alice-sub': { email: 'alice@acme.test', email_verified: true, name: 'Alice' },
  'bob-sub': { email: 'bob@acme.test', email_verified: true, name: 'Bob' },
};

interface AuditRow {
  action: string;
  orgId: string | null;
  details: Record<string, unknown>;
}

async function cacheStatus(url: string, token: string): Promise<{ status: number; text: string }> {
  const response = await request(`${url}/v1/cache/0123456789`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, text: await response.body.text() };
}

describe('CLI login through an OIDC identity provider', () => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let idp: TestProvider;
  let browser: TestBrowser;
  let page: Page;
  let corp: CorpSso | undefined;

  beforeAll(async () => {
    corp = await startCorpSso({ accounts: ACCOUNTS, clientSecret: CLIENT_SECRET, provider: { refreshTokens: true } });
    idp = corp.idp;
    server = await startServer({ port: corp.port, args: ['--sso-config', corp.ssoConfig], env: corp.env });
    boot = await bootstrapWorkspace(server, { orgName: 'acme', workspaceName: 'monorepo' });
    await cli(['org', 'sign-in-policy', 'set', 'acme', '--join-domain', 'acme.test:member'], boot.target);
    browser = await launchBrowser(CONTENT_SECURITY_POLICY);
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    await corp?.dispose();
  });

  const tokens: Record<string, string> = {};
  const audit = async (): Promise<AuditRow[]> => cli<AuditRow[]>(['audit', 'list', '--limit', '200'], boot.target);

  const login = (account: string, userName: string): Promise<string> =>
    ssoCliLogin(
      {
        serverUrl: server.url,
        workspaceId: boot.workspace.id,
        idp,
        browser,
        page,
        buttonName: 'Sign in with Corp SSO',
      },
      account,
      userName,
    );

  it('a person without a session signs in through the provider from the approval page, approves, and the CLI gets its token', async () => {
    tokens.alice = await login('alice-sub', 'alice');
    expect((await cacheStatus(server.url, tokens.alice)).status).toBe(404);
    const actions = (await audit()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['sso.joined', 'sso.signed-in', 'login.approved']));
    const created = (await audit()).filter((e) => e.action === 'token.created');
    expect(created.at(0)?.details.ssoIdentity).toBe(`oidc:${idp.issuer}`);
  });

  it('the return-to path is kept only as a same-origin path: another origin falls back to the tokens page', async () => {
    for (const next of [
      'https://evil.test/ui/device',
      '//evil.test/ui/device',
      '/\\evil.test',
      'javascript:alert(1)',
    ]) {
      await browser.context.clearCookies();
      await idp.signInAs('bob-sub');
      await page.goto(`${server.url}/ui/sign-in/sso/corp?next=${encodeURIComponent(next)}`);
      await page.waitForURL(`${server.url}/ui/tokens`);
      expect(new URL(page.url()).origin).toBe(server.url);
    }
    // A local path with a query survives the round trip unchanged.
    await browser.context.clearCookies();
    await page.goto(`${server.url}/ui/sign-in/sso/corp?next=${encodeURIComponent('/ui/device?code=x')}`);
    await page.waitForURL(`${server.url}/ui/device?code=x`);
  });

  it('a person disabled at the provider loses the token their login made at the re-check; audited; others keep theirs', async () => {
    tokens.bob = await login('bob-sub', 'bob');
    await idp.disable('alice-sub');
    const response = await request(`${server.url}/api/v1/sso/recheck`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boot.target.token}` },
    });
    const body = (await response.body.json()) as {
      recheck: { checked: number; failed: number; revokedTokens: number };
    };
    expect(response.statusCode).toBe(200);
    expect(body.recheck).toEqual({ checked: 2, failed: 1, revokedTokens: 1 });
    const refused = await cacheStatus(server.url, tokens.alice);
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/^ERR_AUTH_TOKEN_REVOKED/);
    expect((await cacheStatus(server.url, tokens.bob)).status).toBe(404);
    const failed = (await audit()).filter((e) => e.action === 'sso.recheck-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.orgId).toBe(boot.org.id);
    expect(failed[0]?.details).toMatchObject({
      provider: 'corp',
      reason: 'refresh-refused:invalid_grant',
      revokedTokens: 1,
      endedSessions: 1,
    });
    // A second pass stops nothing more and audits nothing new; bob's refreshed identity still holds.
    const again = await request(`${server.url}/api/v1/sso/recheck`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boot.target.token}` },
    });
    expect(((await again.body.json()) as typeof body).recheck).toEqual({ checked: 1, failed: 0, revokedTokens: 0 });
    expect((await cacheStatus(server.url, tokens.bob)).status).toBe(404);
  });

  it('never logs the client secret or a refresh token', () => {
    expect(server.output()).not.toContain(CLIENT_SECRET);
    expect(server.output()).not.toMatch(/refresh_token|refreshToken/);
  });
});
