/**
 * The real `nx-sealed-cache login --browser`, approved in Chromium by a person who signs in through the
 * test OpenID provider from the approval page: what the SSO e2e files share.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { CLI_ENTRY, spawnTracked } from '../harness';
import type { TestBrowser } from '../web/browser';
import type { TestProvider } from './oidc-provider';

export interface CliLogin {
  code: string;
  output: () => string;
  exited: Promise<number | null>;
  home: string;
}

/** Starts the real `login --browser` with `home` as HOME and resolves once it printed the user code. */
export async function startCliLogin(serverUrl: string, workspaceId: string, home: string): Promise<CliLogin> {
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NX_SEALED_CACHE_ACCESS_TOKEN: '' };
  const child = spawnTracked(
    process.execPath,
    [CLI_ENTRY, 'login', '--url', serverUrl, '--workspace', workspaceId, '--browser'],
    { cwd: home, env },
  );
  child.stdin?.end();
  let output = '';
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const code = await new Promise<string>((resolveCode, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /^\s+([A-Z]{4}-[A-Z]{4})$/m.exec(output);
      if (match?.[1]) resolveCode(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => reject(new Error(`login exited before printing a code:\n${output}`)));
  });
  return { code, output: () => output, exited, home };
}

/** The credential `login` stored under `home` for the workspace. */
export function storedToken(home: string, serverUrl: string, workspaceId: string): { token: string; tokenId?: string } {
  const file = JSON.parse(readFileSync(join(home, '.config', 'nx-sealed-cache', 'credentials.json'), 'utf8'));
  return file.servers[`${serverUrl}/w/${workspaceId}`];
}

export interface SsoLoginSetup {
  serverUrl: string;
  workspaceId: string;
  idp: TestProvider;
  browser: TestBrowser;
  page: Page;
  /** The provider's button on the sign-in page. */
  buttonName: string;
}

/**
 * The real CLI login, approved by `account` after an SSO sign-in from the approval page; returns the
 * token it stored. `home`: where the CLI keeps it (default: a temp dir, removed afterwards).
 */
export async function ssoCliLogin(
  setup: SsoLoginSetup,
  account: string,
  userName: string,
  home?: string,
): Promise<string> {
  const { serverUrl, workspaceId, idp, browser, page } = setup;
  const loginHome = home ?? mkdtempSync(join(tmpdir(), 'nxsc-sso-login-home-'));
  const login = await startCliLogin(serverUrl, workspaceId, loginHome);
  try {
    const verification = /open (\S+) in a browser/.exec(login.output())?.[1] as string;
    expect(new URL(verification).pathname).toBe('/ui/device');
    await browser.context.clearCookies();
    await idp.signInAs(account);
    await page.goto(verification);
    // No session: the sign-in page, carrying the approval page as where to come back to.
    expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/ui/device');
    const ssoLink = page.getByRole('link', { name: setup.buttonName });
    expect(new URL((await ssoLink.getAttribute('href')) as string, serverUrl).searchParams.get('next')).toBe(
      '/ui/device',
    );
    await Promise.all([page.waitForURL(`${serverUrl}/ui/device`), ssoLink.click()]);
    await expect(page.locator('.who').innerText()).resolves.toContain(`Signed in as ${userName}`);
    await page.getByLabel('Code from your terminal').fill(login.code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('.user-code').textContent()).resolves.toBe(login.code);
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('CLI login approved');
    expect(await login.exited).toBe(0);
    expect(login.output()).toMatch(new RegExp(`Logged in to .* as ${userName}`));
    const stored = storedToken(loginHome, serverUrl, workspaceId);
    expect(login.output()).not.toContain(stored.token);
    return stored.token;
  } finally {
    if (home === undefined) rmSync(loginHome, { recursive: true, force: true });
  }
}
