/**
 * CI identity trust policies on the workspace page, in headless Chromium against a real server on loopback:
 * an organisation admin adds and deletes them (checked by the API's own schema and issuer allow-list, audited
 * like the API's actions), a member and another organisation's admin are refused, forged posts included.
 * The tests run in order against one server.
 */
import type { Page } from 'playwright-core';
import { setPasswordInStore } from '../../../src/server/offline-password';
import { CONTENT_SECURITY_POLICY } from '../../../src/server/routes/web/web-routes';
import { api, startTestServer, type TestServer } from '../../unit/server/test-server';
import { launchBrowser, screenshot, signIn, type TestBrowser } from './browser';

const PASSWORD = 'a long and careful passphrase';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const RULES = [
  {
    name: 'main',
    claims: { repository_id: '123456789', event_name: 'push', ref: 'refs/heads/main' },
    outcome: 'trusted',
  },
  {
    name: 'pull requests',
    claims: { repository_id: '123456789', event_name: 'pull_request' },
    outcome: 'isolated',
    scope: 'pr-{pr}',
  },
];
// A trusted rule open to any event: the API refuses it, so the page must too.
const LOOSE_RULES = JSON.stringify(
  [{ name: 'too loose', claims: { repository_id: '123456789', ref: 'refs/heads/main' }, outcome: 'trusted' }],
  null,
  2,
);

interface PolicyJson {
  id: string;
  name: string;
  provider: string;
  issuer: string;
  audience: string;
  jwksUrl: string | null;
  inlineKeys: number;
  rules: unknown[];
}
interface AuditJson {
  action: string;
  actorUserId: string | null;
  actorTokenId: string | null;
  workspaceId: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
}

let ts: TestServer;
let browser: TestBrowser;
let page: Page;
let acmeWs: string;
let rivalWs: string;
const userIds: Record<string, string> = {};

const policies = (ws = acmeWs) => api<PolicyJson[]>(ts, 'GET', `/workspaces/${ws}/trust-policies`);
const wsPage = (ws = acmeWs) => `${ts.url}/ui/workspaces/${ws}`;

/** The organisation's audit entries of one action: who, where, on what, with which details. */
async function auditOf(action: string): Promise<Omit<AuditJson, 'action'>[]> {
  return (await api<AuditJson[]>(ts, 'GET', '/audit?org=acme'))
    .filter((e) => e.action === action)
    .map(({ actorUserId, actorTokenId, workspaceId, targetId, details }) => ({
      actorUserId,
      actorTokenId,
      workspaceId,
      targetId,
      details,
    }));
}

async function switchUser(name: string): Promise<void> {
  await page.goto(`${ts.url}/ui/tokens`);
  if ((await page.getByRole('button', { name: 'Sign out' }).count()) > 0) {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${ts.url}/ui/sign-in`);
  }
  await signIn(page, ts.url, name, PASSWORD);
}

/** A form post from this page's own session, with its own valid CSRF token: only the policy can refuse it. */
async function postAsSession(path: string, form: Record<string, string>): Promise<{ status: number; text: string }> {
  await page.goto(`${ts.url}/ui/tokens`);
  const csrf = await page.locator('input[name="csrf"]').first().getAttribute('value');
  expect(csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  const answer = await page.request.post(`${ts.url}${path}`, {
    form: { ...form, csrf: csrf ?? '' },
    headers: { origin: ts.url },
    maxRedirects: 0,
  });
  return { status: answer.status(), text: await answer.text() };
}

async function fillPolicy(fields: { name: string; provider?: string; issuer?: string; rules: string }): Promise<void> {
  await page.getByLabel('Policy name').fill(fields.name);
  await page.locator('#tp-provider').selectOption(fields.provider ?? 'github');
  await page.locator('#tp-issuer').fill(fields.issuer ?? '');
  await page.locator('#tp-rules').fill(fields.rules);
}

beforeAll(async () => {
  ts = await startTestServer();
  await api(ts, 'POST', '/orgs', { name: 'acme' });
  await api(ts, 'POST', '/orgs', { name: 'rival' });
  acmeWs = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' })).id;
  rivalWs = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'rival', name: 'rival-mono' })).id;
  for (const [name, org, role] of [
    ['ada', 'acme', 'admin'],
    ['bob', 'acme', 'member'],
    ['mallory', 'rival', 'admin'],
  ] as const) {
    userIds[name] = (await api<{ id: string }>(ts, 'POST', '/users', { name })).id;
    await setPasswordInStore(ts.server.context.store, name, PASSWORD, () => ts.clock.now);
    await api(ts, 'POST', `/orgs/${org}/members`, { user: name, role });
  }
  browser = await launchBrowser(CONTENT_SECURITY_POLICY);
  page = await browser.newPage();
  await signIn(page, ts.url, 'ada', PASSWORD);
});

afterAll(async () => {
  await browser?.close();
  await ts?.stop();
});

afterEach(() => {
  expect(browser.pagesWithoutCsp).toEqual([]);
});

it('an admin adds a GitHub Actions policy and sees it listed in words, audited as the API would', async () => {
  await page.goto(wsPage());
  await expect(page.locator('#ci-identity ~ p.empty').textContent()).resolves.toContain('No trust policies');
  // The audience starts as this server's origin: what the client asks for by default.
  await expect(page.locator('#tp-audience').inputValue()).resolves.toBe(ts.url);
  await fillPolicy({ name: 'github', rules: JSON.stringify(RULES, null, 2) });
  await page.getByRole('button', { name: 'Add trust policy' }).click();
  await expect(page.getByRole('status').first().textContent()).resolves.toContain('Trust policy added');
  expect(page.url()).toBe(`${wsPage()}?done=trust-policy-added#ci-identity`);

  const row = page.locator('article[data-trust-policy="github"]');
  const text = (await row.innerText()).replace(/\s+/g, ' ');
  expect(text).toContain(`GitHub Actions ${GITHUB_ISSUER}`);
  expect(text).toContain(`keys fetched from ${GITHUB_ISSUER}/.well-known/jwks`);
  expect(text).toContain(ts.url);
  expect(text).toContain(
    'main: trusted: reads and writes the shared tier when repository_id is 123456789, event_name is push, ref is refs/heads/main',
  );
  expect(text).toContain(
    'pull requests: isolated: reads and writes only its own scope pr-{pr} when repository_id is 123456789, event_name is pull_request',
  );
  expect(text).toContain('any other job: refused');
  expect(text).toContain('1 Jan 2030, 00:00 UTC by ada');
  await screenshot(page, 'trust-policy-01-added');

  const [stored] = await policies();
  expect(stored).toMatchObject({
    name: 'github',
    provider: 'github',
    issuer: GITHUB_ISSUER,
    audience: ts.url,
    jwksUrl: `${GITHUB_ISSUER}/.well-known/jwks`,
    inlineKeys: 0,
    rules: RULES,
  });
  expect(await auditOf('trust-policy.created')).toEqual([
    {
      actorUserId: userIds.ada,
      actorTokenId: null,
      workspaceId: acmeWs,
      targetId: stored.id,
      details: {
        name: 'github',
        provider: 'github',
        issuer: GITHUB_ISSUER,
        audience: ts.url,
        rules: RULES,
        via: 'web',
      },
    },
  ]);
});

it('a rule set the API would refuse shows its code and keeps what was typed', async () => {
  await page.goto(wsPage());
  await page.locator('#tp-audience').fill('https://cache.example.com');
  await fillPolicy({ name: 'loose', rules: LOOSE_RULES });
  await page.getByRole('button', { name: 'Add trust policy' }).click();
  const alert = (await page.getByRole('alert').textContent()) ?? '';
  expect(alert).toContain('ERR_INPUT_INVALID');
  expect(alert).toContain('a trusted rule must pin event_name to push, workflow_dispatch, schedule');
  await expect(page.locator('#tp-rules').inputValue()).resolves.toBe(LOOSE_RULES);
  await expect(page.getByLabel('Policy name').inputValue()).resolves.toBe('loose');
  await expect(page.locator('#tp-audience').inputValue()).resolves.toBe('https://cache.example.com');
  await screenshot(page, 'trust-policy-02-refused');

  // Not JSON at all: the same code, the text kept as typed.
  await page.locator('#tp-rules').fill('[{ "claims": ');
  await page.getByRole('button', { name: 'Add trust policy' }).click();
  await expect(page.getByRole('alert').textContent()).resolves.toMatch(/ERR_INPUT_INVALID.*the rules are not JSON/);
  await expect(page.locator('#tp-rules').inputValue()).resolves.toBe('[{ "claims": ');
  expect((await policies()).map((p) => p.name)).toEqual(['github']);
});

it('an issuer the server admin did not list is refused unless the policy carries its keys', async () => {
  const issuer = 'https://idp.internal.example';
  const rules = JSON.stringify([{ claims: { sub: 'repo:acme/mono:ref:refs/heads/main' }, outcome: 'read-only' }]);
  await page.goto(wsPage());
  await fillPolicy({ name: 'internal', provider: 'custom', issuer, rules });
  await page.getByText('Keys and token lifetime').click();
  await page.locator('#tp-jwks-url').fill(`${issuer}/keys`);
  await page.getByRole('button', { name: 'Add trust policy' }).click();
  await expect(page.getByRole('alert').textContent()).resolves.toContain('ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED');
  await expect(page.locator('#tp-issuer').inputValue()).resolves.toBe(issuer);
  await expect(page.locator('#tp-jwks-url').inputValue()).resolves.toBe(`${issuer}/keys`);
  await expect(page.locator('#tp-provider').inputValue()).resolves.toBe('custom');
  expect((await policies()).map((p) => p.name)).toEqual(['github']);

  // Air-gapped: the keys in the policy, so the server never fetches from that issuer.
  await page.locator('#tp-jwks-url').fill('');
  await page
    .locator('#tp-jwks')
    .fill(JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] }));
  await page.getByRole('button', { name: 'Add trust policy' }).click();
  await expect(page.getByRole('status').first().textContent()).resolves.toContain('Trust policy added');
  await expect(page.locator('article[data-trust-policy="internal"]').innerText()).resolves.toContain(
    '1 key stored in the policy (never fetched)',
  );
  expect((await policies()).find((p) => p.name === 'internal')).toMatchObject({
    provider: 'custom',
    issuer,
    jwksUrl: null,
    inlineKeys: 1,
  });
});

it('a member gets no workspace page, and a forged post with their own CSRF token is refused', async () => {
  await switchUser('bob');
  const opened = await page.goto(wsPage());
  expect(opened?.status()).toBe(403);
  await expect(page.getByRole('alert').textContent()).resolves.toContain('ERR_AUTH_FORBIDDEN');
  expect(await page.content()).not.toContain('github');
  expect(await page.locator('form[action*="trust-policies"]').count()).toBe(0);

  const add = await postAsSession(`/ui/workspaces/${acmeWs}/trust-policies`, {
    name: 'bobs',
    provider: 'github',
    audience: ts.url,
    rules: JSON.stringify([{ claims: { repository_id: '1' }, outcome: 'read-only' }]),
  });
  expect(add.status).toBe(403);
  expect(add.text).toContain('ERR_AUTH_FORBIDDEN');
  const github = (await policies()).find((p) => p.name === 'github');
  const remove = await postAsSession(`/ui/workspaces/${acmeWs}/trust-policies/${github?.id}/delete`, {});
  expect(remove.status).toBe(403);
  expect(remove.text).toContain('ERR_AUTH_FORBIDDEN');
  expect((await policies()).map((p) => p.name).sort()).toEqual(['github', 'internal']);
});

it("another organisation's admin can neither add nor delete this workspace's policies", async () => {
  await switchUser('mallory');
  expect((await page.goto(wsPage()))?.status()).toBe(403);
  // Her own workspace's page has the form, and no trace of acme's policies.
  await page.goto(wsPage(rivalWs));
  await expect(page.getByRole('button', { name: 'Add trust policy' }).count()).resolves.toBe(1);
  expect(await page.locator('#main').innerText()).not.toContain('123456789');

  const add = await postAsSession(`/ui/workspaces/${acmeWs}/trust-policies`, {
    name: 'planted',
    provider: 'github',
    audience: ts.url,
    rules: JSON.stringify([{ claims: { repository_id: '666' }, outcome: 'read-only' }]),
  });
  expect(add.status).toBe(403);
  expect(add.text).toContain('ERR_AUTH_FORBIDDEN');
  const github = (await policies()).find((p) => p.name === 'github');
  const direct = await postAsSession(`/ui/workspaces/${acmeWs}/trust-policies/${github?.id}/delete`, {});
  expect(direct.status).toBe(403);
  expect(direct.text).toContain('ERR_AUTH_FORBIDDEN');
  // Through her own workspace, acme's policy id names nothing.
  const sideways = await postAsSession(`/ui/workspaces/${rivalWs}/trust-policies/${github?.id}/delete`, {});
  expect(sideways.status).toBe(404);
  expect(sideways.text).toContain('ERR_TRUST_POLICY_NOT_FOUND');
  expect((await policies()).map((p) => p.name).sort()).toEqual(['github', 'internal']);
  expect(await policies(rivalWs)).toEqual([]);
});

it('an admin deletes a policy after confirming, and the deletion is audited', async () => {
  await switchUser('ada');
  await page.goto(wsPage());
  const github = (await policies()).find((p) => p.name === 'github');
  const asked: string[] = [];
  page.once('dialog', (dialog) => asked.push(`${dialog.type()}: ${dialog.message()}`));
  await page.getByRole('button', { name: 'Delete trust policy github' }).click();
  await expect(page.getByRole('status').first().textContent()).resolves.toContain('Trust policy deleted');
  expect(asked).toEqual([expect.stringMatching(/^confirm: Delete trust policy github\? /)]);
  await expect(page.locator('article[data-trust-policy="github"]').count()).resolves.toBe(0);
  await expect(page.locator('article[data-trust-policy="internal"]').count()).resolves.toBe(1);
  expect((await policies()).map((p) => p.name)).toEqual(['internal']);
  expect(await auditOf('trust-policy.deleted')).toEqual([
    {
      actorUserId: userIds.ada,
      actorTokenId: null,
      workspaceId: acmeWs,
      targetId: github?.id,
      details: { name: 'github', via: 'web' },
    },
  ]);
  // The audit page shows it too, in words.
  await page.goto(`${ts.url}/ui/orgs/acme/audit`);
  await expect(page.locator('table').innerText()).resolves.toContain('trust-policy.deleted');
});
