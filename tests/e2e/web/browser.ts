/**
 * Headless Chromium driven by playwright-core, with a fresh profile per test file; loopback only.
 * The browser comes from npm (@sparticuz/chromium ships it inside the package and unpacks it to the temp
 * folder on first use), so `npm ci && npm test` needs nothing installed by hand. NX_SEALED_CACHE_TEST_CHROMIUM
 * points at another build (for example Debian's /usr/bin/chromium).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

import bundledChromium from '@sparticuz/chromium';

export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'artifacts', 'screenshots');
// Our own flags, not the package's defaults (those switch off web security, which the CSP tests rely on).
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab; its every document response is checked for the CSP header. */
  newPage(): Promise<Page>;
  /** Document URLs seen without the expected CSP header. */
  pagesWithoutCsp: string[];
  close(): Promise<void>;
}

export async function launchBrowser(expectedCsp: string): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'nxsc-chromium-'));
  const executablePath = await chromiumPath();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    args: ARGS,
    headless: true,
    viewport: { width: 1280, height: 860 },
  });
  const pagesWithoutCsp: string[] = [];
  context.on('response', (response) => {
    if (response.request().resourceType() !== 'document') return;
    if (response.headers()['content-security-policy'] !== expectedCsp) pagesWithoutCsp.push(response.url());
  });
  return {
    context,
    pagesWithoutCsp,
    newPage: async () => {
      const page = await context.newPage();
      // Destructive forms ask for confirmation; the tests mean it.
      page.on('dialog', (dialog) => void dialog.accept());
      return page;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function chromiumPath(): Promise<string> {
  const chosen = process.env.NX_SEALED_CACHE_TEST_CHROMIUM;
  if (chosen) return chosen;
  return bundledChromium.executablePath();
}

/** The whole page, or the part of it `clip` names. */
export async function screenshot(
  page: Page,
  name: string,
  clip?: { x: number; y: number; width: number; height: number },
): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, clip });
  return file;
}

export async function signIn(page: Page, baseUrl: string, name: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${baseUrl}/ui/tokens`), page.getByRole('button', { name: 'Sign in' }).click()]);
}
