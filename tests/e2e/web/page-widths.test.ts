/**
 * The admin pages fit the screen in headless Chromium: at 1280 px and at 375 px the document is never wider
 * than the viewport (the workspace page with a trust policy and its add form included), every token's Rotate
 * and Delete and the trust policy's Delete stay on screen, dates read as dates and the audit log shows names,
 * not ids and JSON. The members page (with a bot) and the CLI-login confirmation fit too.
 */
import type { Page } from 'playwright-core';
import { setPasswordInStore } from '../../../src/server/offline-password';
import { CONTENT_SECURITY_POLICY } from '../../../src/server/routes/web/web-routes';
import { api, http, startTestServer, type TestServer } from '../../unit/server/test-server';
import { launchBrowser, screenshot, signIn, type TestBrowser } from './browser';

const PASSWORD = 'a long and careful passphrase';
const VIEWPORTS = [
  { width: 1280, height: 860 },
  { width: 375, height: 740 },
];

let ts: TestServer;
let browser: TestBrowser;
let page: Page;
let wsId: string;
let runId: string;

beforeAll(async () => {
  ts = await startTestServer();
  await api(ts, 'POST', '/orgs', { name: 'acme-platform-engineering' });
  wsId = (
    await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme-platform-engineering', name: 'monorepo-web' })
  ).id;
  await api(ts, 'POST', '/users', { name: 'ada.lovelace-long-name' });
  await setPasswordInStore(ts.server.context.store, 'ada.lovelace-long-name', PASSWORD, () => ts.clock.now);
  await api(ts, 'POST', '/orgs/acme-platform-engineering/members', { user: 'ada.lovelace-long-name', role: 'admin' });
  await api(ts, 'POST', '/orgs/acme-platform-engineering/bots', { name: 'cache-primer-for-the-monorepo' });
  for (const name of ['laptop at home, the old one with the sticker', 'build box in the basement'])
    await api(ts, 'POST', '/tokens', { kind: 'personal', user: 'ada.lovelace-long-name', workspaceId: wsId, name });
  const ci = await api<{ token: string }>(ts, 'POST', '/tokens', {
    kind: 'ci',
    workspaceId: wsId,
    access: 'read-write',
    tier: 'trusted',
    name: 'github-actions main branch',
  });
  // Two reported runs with long project names: the Runs view, one run's tasks and the statistics page.
  const projects = ['design-system-components-with-a-long-name', 'checkout-service-api', 'web-storefront-application'];
  for (const [round, status] of [
    [0, 'miss'],
    [1, 'remote-hit'],
  ] as const) {
    const tasks = projects.map((project, i) => ({
      id: `${project}:build:production-with-source-maps`,
      project,
      target: 'build',
      hash: `900000000000000000${i}`,
      status: i === 2 && round === 1 ? 'miss' : status,
      durationMs: round === 0 ? 95_000 * (i + 1) : 40,
    }));
    await http(`${ts.url}/v1/runs`, {
      method: 'POST',
      token: ci.token,
      body: { client: 'plugin', nxVersion: '24.0.6', startedAt: null, endedAt: null, tasks },
    });
    ts.clock.advance(3_600_000);
  }
  runId = (await api<{ runs: { id: string }[] }>(ts, 'GET', `/workspaces/${wsId}/runs`)).runs[0].id;
  await api(ts, 'PATCH', `/workspaces/${wsId}`, { anonymousAccess: 'read', memberDefaultAccess: 'read-write' });
  // The CI identity section, with the longest values a policy is likely to hold.
  await api(ts, 'POST', `/workspaces/${wsId}/trust-policies`, {
    name: 'github-actions-enterprise-monorepo-main',
    provider: 'github',
    audience: 'https://cache.acme-platform-engineering.example.com/nx-sealed-cache/audience',
    rules: [
      {
        name: 'main branch pushes and scheduled builds of the monorepo',
        claims: {
          repository_id: '123456789012',
          event_name: ['push', 'schedule', 'workflow_dispatch'],
          ref: 'refs/heads/main-release-candidate-with-a-long-name',
        },
        outcome: 'trusted',
      },
      {
        claims: { repository_id: '123456789012', workflow_ref: 'acme-platform-engineering/monorepo-web/.github/*' },
        // The default scope: a {placeholder} would read as JSON to the audit log's check below.
        outcome: 'isolated',
      },
    ],
  });
  browser = await launchBrowser(CONTENT_SECURITY_POLICY);
  page = await browser.newPage();
  await signIn(page, ts.url, 'ada.lovelace-long-name', PASSWORD);
});

afterAll(async () => {
  await browser?.close();
  await ts?.stop();
});

const pages = () => [
  '/ui/tokens',
  '/ui/orgs/acme-platform-engineering/tokens',
  '/ui/orgs/acme-platform-engineering/audit',
  `/ui/workspaces/${wsId}`,
  `/ui/workspaces/${wsId}/runs`,
  `/ui/workspaces/${wsId}/runs/${runId}`,
  '/ui/stats',
  '/ui/orgs/acme-platform-engineering/members',
];

describe.each(VIEWPORTS)('at $width px', (viewport) => {
  beforeAll(async () => {
    await page.setViewportSize(viewport);
  });

  it('no page is wider than the screen', async () => {
    const widths: Record<string, number> = {};
    for (const path of pages()) {
      await page.goto(`${ts.url}${path}`);
      widths[path] = Number(await page.evaluate('document.documentElement.scrollWidth'));
    }
    expect(Object.keys(widths)).toHaveLength(pages().length);
    // Listed by path, so a failure names the page and its width.
    expect(Object.entries(widths).filter(([, width]) => width > viewport.width)).toEqual([]);
  });

  it("the workspace's trust policy, its Delete and the add form are on screen", async () => {
    await page.goto(`${ts.url}/ui/workspaces/${wsId}`);
    const policy = page.locator('article[data-trust-policy="github-actions-enterprise-monorepo-main"]');
    await expect(policy.locator('ol.rules li').count()).resolves.toBe(3);
    const boxes = [
      await policy.boundingBox(),
      await policy.getByRole('button', { name: /^Delete trust policy / }).boundingBox(),
      await page.locator('#tp-rules').boundingBox(),
      await page.getByRole('button', { name: 'Add trust policy' }).boundingBox(),
    ];
    expect(boxes.map((box) => (box === null ? -1 : box.x + box.width <= viewport.width))).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('the CLI login confirmation (machine, address, program, workspace) is no wider than the screen', async () => {
    const request = await http(`${ts.url}/api/v1/login/requests`, {
      method: 'POST',
      body: { hostname: 'build-agent-07.ci.acme-platform-engineering.example.com', workspaceId: wsId },
    });
    await page.goto(`${ts.url}/ui/device`);
    await page.getByLabel('Code from your terminal').fill(request.json<{ userCode: string }>().userCode);
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.locator('dl.facts').textContent()).resolves.toContain(wsId);
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(viewport.width);
  });

  it("every token's Rotate and Delete are on screen", async () => {
    await page.goto(`${ts.url}/ui/orgs/acme-platform-engineering/tokens`);
    const buttons = page.getByRole('button', { name: /^(Rotate|Delete) / });
    expect(await buttons.count()).toBe(6);
    for (const button of await buttons.all()) {
      const box = await button.boundingBox();
      expect(box === null ? -1 : box.x + box.width).toBeLessThanOrEqual(viewport.width);
    }
  });
});

it('the audit log reads dates as dates and shows names, not ids or JSON', async () => {
  await page.setViewportSize(VIEWPORTS[0]);
  await page.goto(`${ts.url}/ui/orgs/acme-platform-engineering/audit`);
  const text = await page.locator('main').innerText();
  expect(text).toMatch(/\b1 Jan 2030, 00:00 UTC\b/);
  expect(text).not.toMatch(/[{}"]/);
  expect(text).toContain('monorepo-web');
  expect(text).toContain('token “github-actions main branch”');
  expect(text).not.toMatch(/\bws_[A-Za-z0-9]{20}\b/);
  expect(text).not.toMatch(/\btok_[A-Za-z0-9]{16}\b/);
  // Arrays read as lists, not as numbered pairs; the token's id is a tooltip on its name.
  expect(text).toContain('event_name: push, schedule, workflow_dispatch');
  expect(text).not.toMatch(/\b0 push\b/);
  const token = page.locator('main span[title^="tok_"]', { hasText: 'github-actions main branch' }).first();
  await expect(token.getAttribute('title')).resolves.toMatch(/^tok_[A-Za-z0-9]{16}$/);
});

it('the Runs view shows hits and misses with names and a chart with axes', async () => {
  await page.setViewportSize(VIEWPORTS[0]);
  await page.goto(`${ts.url}/ui/workspaces/${wsId}/runs`);
  const latest = page.locator(`tr[data-run="${runId}"]`);
  expect(await latest.locator('td[data-label="Who"]').innerText()).toBe('CI token “github-actions main branch”');
  expect(await latest.locator('td[data-label="Hits"]').innerText()).toBe('2 (2 remote, 0 local)');
  expect(await latest.locator('td[data-label="Time saved"]').innerText()).toBe('4 min 45 s');
  expect(await page.locator('svg.chart .axis-label').allTextContents()).toEqual([
    'day (UTC)',
    'hit rate',
    'day (UTC)',
    'time saved',
  ]);
  await screenshot(page, '06-runs');
});
