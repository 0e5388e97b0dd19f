/** The Runs view and the statistics page on a real server: figures from reports, escaped names, the switch behind CSRF. */
import { api, http, startTestServer, type TestServer } from './test-server';
import { createTierWorkspace, type TierWorkspace } from './tiers-setup';
import { field, userWithPassword, WebClient } from './web-test-client';

let ts: TestServer;
let w: TierWorkspace;
let admin: WebClient;

const task = (id: string, hash: string, status: string, durationMs: number) => ({
  id,
  project: id.split(':')[0],
  target: 'build',
  hash,
  status,
  durationMs,
});
const send = (tasks: unknown[]) =>
  http(`${ts.url}/w/${w.wsId}/v1/runs`, {
    method: 'POST',
    token: w.trusted,
    body: { client: 'plugin', nxVersion: '24.0.6', startedAt: null, endedAt: null, tasks },
  });

beforeAll(async () => {
  ts = await startTestServer({ config: { retentionInterval: 0 } });
  w = await createTierWorkspace(ts);
  await userWithPassword(ts, 'olga');
  await api(ts, 'POST', `/orgs/${w.orgId}/members`, { user: 'olga', role: 'admin' });
  admin = new WebClient(ts.url);
  await admin.signIn('olga');
  await send([task('<script>alert(1)</script>:build', '11', 'miss', 90_000), task('api:build', '12', 'miss', 3000)]);
  ts.clock.advance(60_000);
  await send([
    task('<script>alert(1)</script>:build', '11', 'remote-hit', 50),
    task('api:build', '13', 'miss', 3000),
    task('web:build', '16', 'failed', 700),
  ]);
});
afterAll(() => ts.stop());

describe('the Runs view', () => {
  it('lists each run with who, Nx, hits, misses and time saved, and shows a run task by task, escaped', async () => {
    const page = await admin.get(`/ui/workspaces/${w.wsId}/runs`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).toContain('CI token “main”');
    expect(page.text).toContain('1 min 30 s');
    expect(page.text).toMatch(/20 %<\/div><div class="label">hit rate \(1 of 5 tasks\)/);
    expect(page.text).toContain('<svg class="chart"');
    const runId = /data-run="(run_[A-Za-z0-9]{20})"/.exec(page.text)?.[1] as string;
    // A failed task is no miss: the latest run, and the web project, count it apart.
    const latest = page.text.slice(page.text.indexOf(`data-run="${runId}"`));
    expect(latest).toMatch(/data-label="Misses" class="num">1<\/td><td data-label="Failed" class="num">1<\/td>/);
    expect(page.text).toMatch(
      /data-label="Project" class="mono">web<\/td><td data-label="Tasks" class="num">1<\/td><td data-label="Hits" class="num">0<\/td><td data-label="Misses" class="num">0<\/td><td data-label="Failed" class="num">1<\/td>/,
    );
    const run = await admin.get(`/ui/workspaces/${w.wsId}/runs/${runId}`);
    expect(run.text).toContain('1 remote hit, 0 local hits, 1 miss, 1 failed');
    expect(run.text).toMatch(/data-status="remote-hit"/);
    expect(run.text).toMatch(/data-task="api:build" data-status="miss"/);
    expect(run.text).not.toContain('<script>alert(1)</script>');
    const missing = await admin.get(`/ui/workspaces/${w.wsId}/runs/run_00000000000000000000`);
    expect([missing.status, missing.text.includes('ERR_RUN_NOT_FOUND')]).toEqual([404, true]);
  });

  it('turns reports off only with the CSRF token, and then stores nothing', async () => {
    const page = await admin.get(`/ui/workspaces/${w.wsId}/runs`);
    const forged = await admin.post(`/ui/workspaces/${w.wsId}/run-reports`, { enabled: 'off', csrf: 'nope' });
    expect(forged.status).toBe(403);
    expect((await send([task('api:build', '14', 'miss', 1)])).status).toBe(201);
    const off = await admin.post(`/ui/workspaces/${w.wsId}/run-reports`, {
      enabled: 'off',
      csrf: field(page.text, 'csrf'),
    });
    expect(off.status).toBe(303);
    expect((await send([task('api:build', '15', 'miss', 1)])).json()).toMatchObject({ stored: false });
    expect((await admin.get(`/ui/workspaces/${w.wsId}/runs`)).text).toContain('takes no run reports');
  });

  it('gives the statistics page a hit rate and time saved from reports', async () => {
    const stats = await admin.get('/ui/stats');
    expect(stats.text).not.toContain('not counted by this server yet');
    // One hit of six reported tasks (the failed one included).
    expect(stats.text).toMatch(/id="hit-rate">17 %</);
    expect(stats.text).toContain(`/ui/workspaces/${w.wsId}/runs`);
  });
});
