/**
 * Access that ends with the identity, seen from an Nx 24 workspace through the plugin and sealing proxy:
 * a developer signs in through SSO (a real `oidc-provider` on loopback), runs `nx-sealed-cache login`,
 * and gets remote hits. Then the provider takes the access away, once by disabling the account (the
 * re-check, run at once by the admin API instead of after the organisation's interval, revokes the
 * token) and once over SCIM (deactivation stops the token immediately). The next run has no remote
 * access, says why in one line, and the build stays green. Tests run in order on one workspace.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import { generateEncryptionKey } from '../../../src/crypto';
import { CONTENT_SECURITY_POLICY } from '../../../src/server/routes/web/web-routes';
import { type NxRunResult, type TestBed, assertSucceeded, cli, expectOutcomes, startTestBed } from '../harness';
import { launchBrowser, type TestBrowser } from '../web/browser';
import { startCorpSso, type CorpSso } from './corp-sso';
import type { TestProvider } from './oidc-provider';
import { ssoCliLogin, type SsoLoginSetup } from './sso-login-flow';

const CLIENT_SECRET = 'corp-client-secret-5e1c7a9d3b';
const SCIM_TOKEN = 'scim-bearer-token-for-the-nx24-test-4f2a8c6e1b9d';
const ACCOUNTS = {
  'alice-sub': { email: 'alice@acme.test', email_verified: true, name: 'Alice' },
  'bob-sub': { email: 'bob@acme.test', email_verified: true, name: 'Bob' },
};
const SCIM_JSON = 'application/scim+json';

describe('Nx 24: an SSO login gives remote hits until the identity provider takes the access away', () => {
  let bed: TestBed;
  let idp: TestProvider;
  let browser: TestBrowser;
  let page: Page;
  let corp: CorpSso | undefined;
  let setup: SsoLoginSetup;

  const allProjects = (outcome: string): Record<string, string> =>
    Object.fromEntries(bed.ws.projects.map((p) => [p, outcome]));
  const output = (result: NxRunResult): string => `${result.stdout}\n${result.stderr}`;
  const lines = (result: NxRunResult, pattern: RegExp): string[] =>
    output(result)
      .split('\n')
      .filter((line) => pattern.test(line));
  /** One line says why and what to do; the summary at the end only names the code. */
  const expectOneClearLine = (result: NxRunResult): void => {
    const why = lines(result, /ERR_AUTH_TOKEN_REVOKED/);
    expect(why).toHaveLength(2);
    expect(why[0]).toMatch(
      /^nx-sealed-cache: remote cache off for this run: .*revoked.*; log in again with `nx-sealed-cache login`\. Tasks still run and use the local cache\.$/,
    );
    expect(why[1]).toMatch(/^nx-sealed-cache: remote cache off \(ERR_AUTH_TOKEN_REVOKED, see the warning above\) · /);
  };
  const restoreRun = async (): Promise<NxRunResult> => {
    await bed.ws.reset();
    rmSync(join(bed.ws.root, 'dist'), { recursive: true, force: true });
    return assertSucceeded(await bed.ws.build());
  };
  const scim = async (method: 'POST' | 'PATCH', path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await request(`${bed.server.url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': SCIM_JSON, accept: SCIM_JSON },
      body: JSON.stringify(body),
    });
    const json = (await response.body.json()) as Record<string, unknown>;
    if (response.statusCode >= 300)
      throw new Error(`SCIM ${method} ${path}: ${response.statusCode} ${JSON.stringify(json)}`);
    return json;
  };

  beforeAll(async () => {
    corp = await startCorpSso({
      accounts: ACCOUNTS,
      clientSecret: CLIENT_SECRET,
      provider: { refreshTokens: true, scim: { tokenEnv: 'CORP_SCIM_TOKEN', subjectFrom: 'externalId' } },
    });
    idp = corp.idp;
    bed = await startTestBed('nx24', {
      proxyDir: true,
      bootstrap: { orgName: 'acme', workspaceName: 'monorepo' },
      server: {
        port: corp.port,
        args: ['--sso-config', corp.ssoConfig],
        env: { ...corp.env, CORP_SCIM_TOKEN: SCIM_TOKEN },
      },
      workspace: ({ server, boot, proxyDir }) => ({
        patchNxJson: (json) => {
          json.plugins = [
            {
              plugin: 'nx-sealed-cache',
              options: { url: server.url, workspaceId: boot.workspace.id, timeoutMs: 3_000 },
            },
          ];
        },
        env: {
          NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey(),
          NX_SEALED_CACHE_PROXY_DIR: proxyDir,
          NX_SEALED_CACHE_PROXY_IDLE_MS: '1500',
        },
      }),
    });
    await cli(['org', 'sign-in-policy', 'set', 'acme', '--join-domain', 'acme.test:member'], bed.boot.target);
    browser = await launchBrowser(CONTENT_SECURITY_POLICY);
    page = await browser.newPage();
    setup = {
      serverUrl: bed.server.url,
      workspaceId: bed.boot.workspace.id,
      idp,
      browser,
      page,
      buttonName: 'Sign in with Corp SSO',
    };
  });

  afterAll(async () => {
    await browser?.close();
    await bed?.dispose();
    await corp?.dispose();
  });

  it('CI primes the cache with its read-write token', async () => {
    const result = assertSucceeded(await bed.ws.build({ NX_SEALED_CACHE_ACCESS_TOKEN: bed.writeToken.token }));
    expectOutcomes(result, allProjects('miss'));
    expect(output(result)).toMatch(/nx-sealed-cache: 0 remote hits, 4 misses, 4 uploads/);
  });

  it('a developer signs in through SSO, runs `nx-sealed-cache login`, and gets every task from the remote cache', async () => {
    await ssoCliLogin(setup, 'alice-sub', 'alice', bed.ws.homeDir);
    const result = await restoreRun();
    expectOutcomes(result, allProjects('remote'));
    expect(output(result)).toMatch(/nx-sealed-cache: 4 remote hits, 0 misses/);
    expect(lines(result, /remote cache off/)).toEqual([]);
  });

  it('the provider disables the account; after the re-check the next run has no access, one line says why, and the build stays green', async () => {
    await idp.disable('alice-sub');
    const recheck = await request(`${bed.server.url}/api/v1/sso/recheck`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bed.boot.target.token}` },
    });
    expect(recheck.statusCode).toBe(200);
    expect(((await recheck.body.json()) as { recheck: unknown }).recheck).toEqual({
      checked: 1,
      failed: 1,
      revokedTokens: 1,
    });
    const result = await restoreRun();
    expectOutcomes(result, allProjects('miss'));
    expectOneClearLine(result);
  });

  it('SCIM: a provisioned developer gets hits; deactivated by the provider, the next run has no access, one line says why, and the build stays green', async () => {
    const user = await scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'bob@acme.test',
      externalId: 'bob-sub',
      active: true,
    });
    await ssoCliLogin(setup, 'bob-sub', 'bob', bed.ws.homeDir);
    const before = await restoreRun();
    expectOutcomes(before, allProjects('remote'));

    const patched = await scim('PATCH', `/Users/${String(user.id)}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(patched.active).toBe(false);
    const after = await restoreRun();
    expectOutcomes(after, allProjects('miss'));
    expectOneClearLine(after);

    const audit = await cli<{ action: string; details: Record<string, unknown> }[]>(
      ['audit', 'list', '--limit', '200'],
      bed.boot.target,
    );
    expect(audit.find((e) => e.action === 'scim.deactivated')?.details).toMatchObject({ revokedTokens: 1 });
  });

  it('never logs the client secret, the SCIM token or a refresh token', () => {
    expect(bed.server.output()).not.toContain(CLIENT_SECRET);
    expect(bed.server.output()).not.toContain(SCIM_TOKEN);
    expect(bed.server.output()).not.toMatch(/refresh_token|refreshToken/);
  });
});
