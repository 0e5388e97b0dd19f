/**
 * The pictures of the admin pages in docs/images, taken again by `npm run docs:screenshots`: a real server on
 * loopback (the server factory with a temp data dir and a clock it can move, so ten days of history fit in a
 * minute and a re-run draws the same pictures), seeded through the built admin CLI, the admin API, the cache API
 * and the run-report endpoint, then photographed in headless Chromium at 1280 px. Each picture is checked to
 * hold no token value and to stay under 300 KB.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { setPasswordInStore } from '../../src/server/offline-password';
import { CONTENT_SECURITY_POLICY } from '../../src/server/routes/web/web-routes';
import { cli, createToken, type CliTarget, type TokenRecord, type WorkspaceRecord } from '../e2e/harness';
import { launchBrowser, screenshot, signIn, type TestBrowser } from '../e2e/web/browser';
import { api, http, startTestServer, type TestServer } from '../unit/server/test-server';

const IMAGES_DIR = join(__dirname, '..', '..', 'docs', 'images');
const PASSWORD = 'a long and careful passphrase';
const MAX_PNG_BYTES = 300 * 1024;
/** Long pages are cut here: the top of a page is what a reader needs to see. */
const MAX_HEIGHT = 1500;
const DAYS = 10;
const HOUR = 3_600_000;
/** A token's value as the server issues it; none may be on a picture. */
const TOKEN_VALUE = /nxsc_[a-z]+_[A-Za-z0-9]{20,}/;

/** The monorepo's projects, with how long each target takes when it runs. */
const PROJECTS: { name: string; build: number; test: number }[] = [
  { name: 'storefront-web', build: 184_000, test: 96_000 },
  { name: 'checkout-api', build: 71_000, test: 122_000 },
  { name: 'design-system', build: 143_000, test: 38_000 },
  { name: 'shared-utils', build: 12_000, test: 9_000 },
  { name: 'admin-console', build: 97_000, test: 54_000 },
];

type Status = 'remote-hit' | 'local-hit' | 'miss' | 'failed';
interface Task {
  id: string;
  project: string;
  target: string;
  hash: string;
  status: Status;
  durationMs: number;
}

let ts: TestServer;
let target: CliTarget;
let browser: TestBrowser;
let page: Page;
let monorepo: WorkspaceRecord;
let designSystem: WorkspaceRecord;
let failedRunId = '';
const secrets: string[] = [];

/** Nx-like digits, the same on every run of this file. */
const hashOf = (...parts: (string | number)[]): string =>
  BigInt(`0x${createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 24)}`)
    .toString()
    .slice(0, 20);

/** Which day's sources a project's target was built from: projects change on different days. */
const versionOn = (project: number, day: number): number => Math.floor((day + project) / (project + 2));

/** Artifact bytes that are no gzip (so the server keeps them as opaque blobs), sized like real outputs. */
const artifact = (hash: string, size: number): Buffer => {
  const bytes = Buffer.alloc(size, hash.charCodeAt(0));
  bytes[0] = 0;
  return bytes;
};

async function cacheGet(token: string, hash: string): Promise<number> {
  return (await http(`${ts.url}/v1/cache/${hash}`, { token })).status;
}

async function cachePut(token: string, hash: string, size: number): Promise<void> {
  const result = await http(`${ts.url}/v1/cache/${hash}`, { method: 'PUT', token, raw: artifact(hash, size) });
  if (result.status < 200 || result.status >= 300)
    throw new Error(`PUT ${hash} answered ${result.status}: ${result.text}`);
}

/**
 * One Nx run as its cache traffic and its run report: each task asks the cache for its hash; a hit is a restore,
 * a miss runs the task and uploads (when the token writes), a failure uploads nothing.
 */
async function run(token: TokenRecord, tasks: Task[], writes: boolean): Promise<string> {
  for (const task of tasks) {
    if (task.status === 'local-hit') continue;
    const status = await cacheGet(token.token, task.hash);
    if (task.status === 'remote-hit' && status !== 200)
      throw new Error(`${task.id} should hit the remote cache, answered ${status}`);
    if (task.status === 'miss' && writes)
      await cachePut(token.token, task.hash, 40_000 + (task.durationMs % 9) * 90_000);
  }
  const endedAt = ts.clock.now;
  const startedAt = new Date(endedAt.getTime() - tasks.reduce((sum, t) => sum + t.durationMs, 0) / 2);
  const answer = await http(`${ts.url}/v1/runs`, {
    method: 'POST',
    token: token.token,
    body: {
      client: 'plugin',
      nxVersion: '24.0.6',
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      tasks,
    },
  });
  if (answer.status !== 201) throw new Error(`run report answered ${answer.status}: ${answer.text}`);
  return answer.json<{ id: string }>().id;
}

/** The monorepo's tasks on `day`, each hitting with `hit` unless `runs` says it ran (then it took its full time). */
function tasksOn(day: number, hit: Status, runs: (project: number) => boolean, branch = 'main'): Task[] {
  return PROJECTS.flatMap((p, i) =>
    (['build', 'test'] as const).map((targetName) => {
      const ran = runs(i);
      return {
        id: `${p.name}:${targetName}`,
        project: p.name,
        target: targetName,
        hash: hashOf(ran ? branch : 'main', p.name, targetName, versionOn(i, day)),
        status: ran ? 'miss' : hit,
        durationMs: ran ? p[targetName] + ((day * 7919) % 9000) : 40 + ((i * 37 + day * 11) % 260),
      };
    }),
  );
}

async function seed(): Promise<void> {
  target = { url: ts.url, token: ts.adminToken };
  // The team lead's first morning: a few minutes between steps, so the audit log reads like one.
  ts.clock.now = new Date('2030-01-01T07:00:00.000Z');
  const minutesLater = (): void => ts.clock.advance(3 * 60_000);
  await cli(['org', 'create', 'acme'], target);
  minutesLater();
  monorepo = await cli<WorkspaceRecord>(['workspace', 'create', '--org', 'acme', 'monorepo'], target);
  designSystem = await cli<WorkspaceRecord>(['workspace', 'create', '--org', 'acme', 'design-system'], target);
  for (const [name, role] of [
    ['ada', 'admin'],
    ['grace', 'member'],
    ['linus', 'member'],
  ] as const) {
    await cli(['user', 'create', name], target);
    await cli(['member', 'add', '--org', 'acme', '--user', name, '--role', role], target);
    minutesLater();
  }
  await cli(['user', 'create', 'release-bot', '--bot', '--org', 'acme'], target);
  await setPasswordInStore(ts.server.context.store, 'ada', PASSWORD, () => ts.clock.now);
  await api(ts, 'PATCH', `/workspaces/${monorepo.id}`, { memberDefaultAccess: 'read-write' });

  const issue = async (options: Parameters<typeof createToken>[1]): Promise<TokenRecord> => {
    const token = await createToken(target, options);
    secrets.push(token.token);
    minutesLater();
    return token;
  };
  const main = await issue({
    kind: 'ci',
    workspace: monorepo.id,
    access: 'read-write',
    tier: 'trusted',
    name: 'github-actions main',
  });
  const pulls = await issue({
    kind: 'ci',
    workspace: monorepo.id,
    access: 'read-write',
    tier: 'isolated',
    name: 'pull requests',
  });
  const nightly = await issue({ kind: 'ci', workspace: monorepo.id, access: 'read' });
  const designMain = await issue({
    kind: 'ci',
    workspace: designSystem.id,
    access: 'read-write',
    tier: 'trusted',
    name: 'design-system main',
  });
  await issue({ kind: 'personal', user: 'ada', workspace: monorepo.id, name: 'work laptop' });
  await issue({ kind: 'personal', user: 'ada', workspace: designSystem.id, name: 'work laptop' });
  const grace = await issue({ kind: 'personal', user: 'grace', workspace: monorepo.id, name: 'grace laptop' });
  await issue({ kind: 'personal', user: 'linus', workspace: monorepo.id, access: 'read', name: 'desktop' });
  await issue({ kind: 'personal', user: 'release-bot', workspace: monorepo.id, name: 'cache primer' });

  ts.clock.now = new Date('2030-01-01T08:00:00.000Z');
  for (let day = 0; day < DAYS; day += 1) {
    const changedToday = (i: number): boolean => day === 0 || versionOn(i, day) !== versionOn(i, day - 1);
    ts.clock.advance(HOUR);
    // main's CI: what changed since yesterday runs and is stored; the rest hits what main stored before.
    await run(main, tasksOn(day, 'remote-hit', changedToday), true);
    ts.clock.advance(2 * HOUR);
    // A pull request changes checkout-api: that runs in the pull requests' own tier, the rest comes from main.
    const pr = tasksOn(day, 'remote-hit', (i) => i === 1, `pr-${day}`);
    if (day % 3 === 2)
      Object.assign(
        pr.find((t) => t.id === 'checkout-api:test')!,
        { status: 'failed', durationMs: 31_000 },
      );
    const prRun = await run(pulls, pr, true);
    if (day === DAYS - 2) failedRunId = prRun;
    ts.clock.advance(3 * HOUR);
    // Grace on her laptop: on odd days she built this morning (local hits), else everything comes from main.
    await run(
      grace,
      tasksOn(day, day % 2 === 1 ? 'local-hit' : 'remote-hit', () => false),
      false,
    );
    if (day % 2 === 1) {
      ts.clock.advance(6 * HOUR);
      // The nightly end-to-end job reads only.
      await run(
        nightly,
        tasksOn(day, 'remote-hit', () => false),
        false,
      );
    }
    // The design system's CI builds its tokens once a day and the second job of the day hits.
    const tokensBuild = { id: 'tokens:build', project: 'tokens', target: 'build', hash: hashOf('ds', day) };
    await run(designMain, [{ ...tokensBuild, status: 'miss', durationMs: 45_000 }], true);
    await run(designMain, [{ ...tokensBuild, status: 'remote-hit', durationMs: 90 }], true);
    ts.clock.now = new Date(`2030-01-${String(day + 2).padStart(2, '0')}T08:00:00.000Z`);
  }
  ts.clock.now = new Date(`2030-01-${String(DAYS).padStart(2, '0')}T21:30:00.000Z`);
}

/** Takes the picture, checks it shows no token value and is small, and copies it into docs/images. */
async function picture(path: string, name: string): Promise<void> {
  await page.goto(`${ts.url}${path}`);
  const html = await page.content();
  expect(html).not.toMatch(TOKEN_VALUE);
  for (const secret of secrets) expect(html).not.toContain(secret);
  const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
  expect(width).toBeLessThanOrEqual(1280);
  const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
  const shot = await screenshot(page, `docs-${name}`, {
    x: 0,
    y: 0,
    width: 1280,
    height: Math.min(height, MAX_HEIGHT),
  });
  expect(statSync(shot).size).toBeLessThan(MAX_PNG_BYTES);
  copyFileSync(shot, join(IMAGES_DIR, `${name}.png`));
}

beforeAll(async () => {
  ts = await startTestServer();
  await seed();
  browser = await launchBrowser(CONTENT_SECURITY_POLICY);
  page = await browser.newPage();
  await page.setViewportSize({ width: 1280, height: 860 });
  await signIn(page, ts.url, 'ada', PASSWORD);
});

afterAll(async () => {
  await browser?.close();
  await ts?.stop();
});

it('the Runs view of a workspace, and one run', async () => {
  await picture(`/ui/workspaces/${monorepo.id}/runs`, 'runs-page');
  await picture(`/ui/workspaces/${monorepo.id}/runs/${failedRunId}`, 'run-page');
});

it('the statistics page', async () => {
  await picture('/ui/stats', 'stats-page');
});

it("the organisation's audit log and members", async () => {
  await picture('/ui/orgs/acme/audit', 'audit-page');
  await picture('/ui/orgs/acme/members', 'members-page');
});

it('the token pages', async () => {
  await picture('/ui/tokens', 'token-page');
  await picture('/ui/orgs/acme/tokens', 'org-tokens-page');
});
