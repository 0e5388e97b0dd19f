/**
 * The real `nx-sealed-cache login --browser`, approved in Chromium by a person who signs in through the
 * test OpenID provider from the approval page: what the SSO e2e files share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startCliLogin, storedToken } from '../harness';
import type { TestBrowser } from '../web/browser';
import type { TestProvider } from './oidc-provider';

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
