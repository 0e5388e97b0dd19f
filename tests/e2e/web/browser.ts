/** Headless Debian Chromium driven by playwright-core, with a fresh profile per test file; loopback only. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'artifacts', 'screenshots');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

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
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: ARGS, headless: true, viewport: { width: 1280, height: 860 } });
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

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export async function signIn(page: Page, baseUrl: string, name: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL(`${baseUrl}/ui/tokens`), page.getByRole('button', { name: 'Sign in' }).click()]);
}
