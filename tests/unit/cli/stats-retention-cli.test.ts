/** `stats` and `retention run` against a real server on port 0: what they print, `--json`, and who is refused. */
import { type OpsServer, startOpsServer, workspaceWithTokens } from '../server/ops-test-kit';
import { api, http } from '../server/test-server';
import { runCliCaptured } from './cli-captured';

let ts: OpsServer;
let wsId: string;
let rw: string;

async function cli(env: Record<string, string>, ...argv: string[]) {
  return runCliCaptured(argv, { NX_SEALED_CACHE_URL: ts.url, ...env });
}
const asAdmin = (...argv: string[]) => cli({ NX_SEALED_CACHE_ADMIN_TOKEN: ts.adminToken }, ...argv);

beforeAll(async () => {
  ts = await startOpsServer({ retentionMaxAge: 7 * 86_400_000, retentionInterval: 0 });
  ({ wsId, rw } = await workspaceWithTokens(ts));
  for (const [hash, size] of [
    ['aa01', 3000],
    ['aa02', 2048],
  ] as const) {
    const put = await http(`${ts.url}/v1/cache/${hash}`, { method: 'PUT', token: rw, raw: Buffer.alloc(size, 1) });
    expect(put.status).toBe(200);
  }
  expect((await http(`${ts.url}/v1/cache/aa01`, { token: rw })).status).toBe(200);
  expect((await http(`${ts.url}/v1/cache/ffff`, { token: rw })).status).toBe(404);
  // Two reported runs: the first stores aa01 (3 min) and fails a test, the second hits aa01 and misses another.
  const task = (id: string, hash: string, status: string, durationMs: number) => ({
    id,
    project: id.split(':')[0],
    target: id.split(':')[1],
    hash,
    status,
    durationMs,
  });
  for (const tasks of [
    [task('web:build', 'aa01', 'miss', 180_000), task('web:test', 'bb01', 'failed', 5000)],
    [task('web:build', 'aa01', 'remote-hit', 30), task('api:build', 'cc01', 'miss', 2000)],
  ]) {
    const body = { client: 'plugin', nxVersion: '24.0.6', startedAt: null, endedAt: null, tasks };
    expect((await http(`${ts.url}/v1/runs`, { method: 'POST', token: rw, body })).status).toBe(201);
  }
});
afterAll(() => ts.stop());

describe('stats', () => {
  it('prints entries and size per workspace by name, and the hits and misses', async () => {
    const run = await asAdmin('stats');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('stored: 2 entries, 4.9 KiB');
    expect(run.stdout).toContain('cache since the server started: 1 hits, 1 misses (hit rate 50%)');
    expect(run.stdout).toContain('last retention pass: none since the server started');
    expect(run.stdout).toMatch(new RegExp(`^web +acme +${wsId} +2 +4\\.9 KiB +25% +3 min 0 s$`, 'm'));
  });

  it('prints the hit rate and time saved from run reports, as the statistics page does', async () => {
    const run = await asAdmin('stats');
    expect(run.stdout).toContain(
      'run reports, last 14 days: hit rate 25% (1 of 4 tasks; 2 misses, 1 failed), time saved 3 min 0 s',
    );
    expect(run.stdout).toMatch(/^workspace +org +id +entries +size +hit rate +time saved$/m);
  });

  it('--json is the API answer, names included', async () => {
    const run = await asAdmin('stats', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      storage: { entries: 2, bytes: 5048 },
      workspaces: [{ workspaceId: wsId, name: 'web', org: 'acme', entries: 2, bytes: 5048 }],
      cache: { hits: 1, misses: 1 },
      runReports: { days: 14, tasks: 4, hits: 1, misses: 2, failed: 1, savedMs: 180_000, savedUnknown: 0 },
    });
  });

  it('refuses a CI token with the stable code and exit 1', async () => {
    const run = await cli({ NX_SEALED_CACHE_ADMIN_TOKEN: rw }, 'stats');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error ERR_AUTH_TOKEN_KIND_REFUSED: /);
  });
});

describe('retention run', () => {
  it('says when there was nothing to remove', async () => {
    const run = await asAdmin('retention', 'run');
    expect(run).toMatchObject({ code: 0, stdout: 'retention: nothing to remove\n' });
  });

  it('prints what a pass removed by reason; --json gives the counts and bytes', async () => {
    ts.clock.advance(8 * 86_400_000);
    const run = await asAdmin('retention', 'run');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual(
      expect.arrayContaining(['retention removed:', '  age: 2 entries, 4.9 KiB', '  size: 0 entries']),
    );
    await http(`${ts.url}/v1/cache/bb01`, { method: 'PUT', token: rw, raw: Buffer.alloc(10, 2) });
    ts.clock.advance(8 * 86_400_000);
    const json = await asAdmin('retention', 'run', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ removed: { age: { count: 1, bytes: 10 } } });
    expect(JSON.parse((await asAdmin('stats', '--json')).stdout)).toMatchObject({
      storage: { entries: 0 },
      // A workspace whose entries all went still has its row, at 0 (it used to drop out of the list).
      workspaces: [{ workspaceId: wsId, name: 'web', org: 'acme', entries: 0, bytes: 0 }],
      retention: { lastRunAt: expect.any(String), removedSinceStart: { age: { count: 3, bytes: 5058 } } },
    });
  });

  it("refuses an organisation admin's personal token: retention is the server's", async () => {
    await api(ts as Parameters<typeof api>[0], 'POST', '/users', { name: 'ada' });
    await api(ts as Parameters<typeof api>[0], 'POST', '/orgs/acme/members', { user: 'ada', role: 'admin' });
    const personal = await api<{ token: string }>(ts as Parameters<typeof api>[0], 'POST', '/tokens', {
      kind: 'personal',
      user: 'ada',
      workspaceId: wsId,
    });
    const run = await cli({ NX_SEALED_CACHE_ADMIN_TOKEN: personal.token }, 'retention', 'run', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'ERR_AUTH_FORBIDDEN' } });
  });
});
