/**
 * `POST /v1/runs` on a real server: who may report, what is refused (with its code, storing nothing), the
 * workspace switch, and what members read back through the admin API.
 */
import { request } from 'undici';
import { RUN_REPORTS_PER_MINUTE } from '../../../src/server/routes/cache/runs';
import { api, http, startTestServer, type HttpResult, type TestServer } from './test-server';
import { createMember, createTierWorkspace, type TierWorkspace } from './tiers-setup';

let ts: TestServer;
let w: TierWorkspace;
let other: TierWorkspace;

beforeAll(async () => {
  ts = await startTestServer({ config: { retentionInterval: 0 } });
  w = await createTierWorkspace(ts);
  other = await createTierWorkspace(ts);
});
afterAll(() => ts.stop());

const task = (project: string, hash: string, status: string, durationMs: number | null = 1200) => ({
  id: `${project}:build`,
  project,
  target: 'build',
  hash,
  status,
  durationMs,
});
const report = (tasks: unknown[], over: Record<string, unknown> = {}) => ({
  client: 'plugin',
  nxVersion: '24.0.6',
  startedAt: '2030-01-01T00:00:00.000Z',
  endedAt: '2030-01-01T00:00:05.000Z',
  tasks,
  ...over,
});
const send = (token: string | undefined, body: unknown, workspaceId = w.wsId): Promise<HttpResult> =>
  http(`${ts.url}/w/${workspaceId}/v1/runs`, { method: 'POST', token, body });
const codeOf = (result: HttpResult): string => result.json<{ error: { code: string } }>().error.code;
const runsOf = async (wsId = w.wsId) =>
  (
    await api<{ reportsEnabled: boolean; runs: { id: string; reporter: string }[] }>(
      ts,
      'GET',
      `/workspaces/${wsId}/runs`,
    )
  ).runs;

describe('run reports', () => {
  it('stores a report from a trusted CI token and shows it to the admin API with its tasks and time saved', async () => {
    const first = await send(w.trusted, report([task('a', '101', 'miss', 4000), task('b', '102', 'miss', 1000)]));
    expect(first.status).toBe(201);
    const second = await send(
      w.trusted,
      report([task('a', '101', 'remote-hit', 20), task('b', '102', 'local-hit', 3)]),
    );
    expect(second.status).toBe(201);
    const id = second.json<{ stored: boolean; id: string }>().id;
    expect(id).toMatch(/^run_[A-Za-z0-9]{20}$/);
    const found = await api<{ run: Record<string, unknown>; tasks: { status: string; savedMs: number | null }[] }>(
      ts,
      'GET',
      `/workspaces/${w.wsId}/runs/${id}`,
    );
    expect(found.run).toMatchObject({
      reporter: 'CI token “main”',
      nxVersion: '24.0.6',
      remoteHits: 1,
      localHits: 1,
      savedMs: 5000,
    });
    expect(found.tasks.map((t) => [t.status, t.savedMs])).toEqual([
      ['remote-hit', 4000],
      ['local-hit', 1000],
    ]);
  });

  it('takes reports from read-only tokens and members, named by person, never anonymous ones', async () => {
    expect((await send(w.readOnly, report([task('a', '101', 'remote-hit')]))).status).toBe(201);
    const member = await createMember(ts, w);
    ts.clock.advance(1000);
    expect((await send(member.token, report([task('c', '103', 'miss')]))).status).toBe(201);
    expect((await runsOf())[0].reporter).toBe(member.name);
    const anonymous = await send(undefined, report([task('a', '101', 'miss')]));
    expect([anonymous.status, codeOf(anonymous)]).toEqual([401, 'ERR_RUN_REPORT_ANONYMOUS']);
  });

  it('names an unnamed CI token by its access and tier, not by its id', async () => {
    const unnamed = async (body: Record<string, unknown>): Promise<string> => {
      const { token } = await api<{ token: string }>(ts, 'POST', '/tokens', {
        kind: 'ci',
        workspaceId: w.wsId,
        ...body,
      });
      ts.clock.advance(1000);
      expect((await send(token, report([task('a', '101', 'remote-hit')]))).status).toBe(201);
      return (await runsOf())[0].reporter;
    };
    await expect(unnamed({ access: 'read-write', tier: 'trusted' })).resolves.toBe(
      'unnamed CI token (read-write, trusted)',
    );
    await expect(unnamed({ access: 'read-write', tier: 'isolated' })).resolves.toBe(
      'unnamed CI token (read-write, isolated)',
    );
    await expect(unnamed({ access: 'read' })).resolves.toBe('unnamed CI token (read)');
  });

  it("refuses a token of another workspace, and a non-member's token, storing nothing", async () => {
    const before = (await runsOf()).length;
    const wrong = await send(other.trusted, report([task('a', '1', 'miss')]));
    expect([wrong.status, codeOf(wrong)]).toEqual([401, 'ERR_AUTH_WORKSPACE_MISMATCH']);
    // A member of another organisation, with a personal token bound to no workspace.
    const outsider = await createMember(ts, other);
    const unbound = await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'personal', user: outsider.userId });
    const bound = await send(outsider.token, report([task('a', '1', 'miss')]));
    expect([bound.status, codeOf(bound)]).toEqual([401, 'ERR_AUTH_WORKSPACE_MISMATCH']);
    const refused = await send(unbound.token, report([task('a', '1', 'miss')]));
    expect([refused.status, codeOf(refused)]).toEqual([401, 'ERR_AUTH_NOT_MEMBER']);
    const admin = await send(ts.adminToken, report([task('a', '1', 'miss')]));
    expect([admin.status, codeOf(admin)]).toEqual([401, 'ERR_AUTH_TOKEN_KIND_REFUSED']);
    expect((await runsOf()).length).toBe(before);
    expect(await runsOf(other.wsId)).toEqual([]);
  });

  it('refuses malformed task entries, huge numbers, oversized bodies and too many tasks, storing nothing', async () => {
    const before = (await runsOf()).length;
    const cases: [unknown, string, number][] = [
      [report([{ ...task('a', '1', 'miss'), hash: '../etc' }]), 'ERR_RUN_REPORT_INVALID', 400],
      [report([{ ...task('a', '1', 'miss'), status: 'cached' }]), 'ERR_RUN_REPORT_INVALID', 400],
      [report([task('a', '1', 'miss', 1e15)]), 'ERR_RUN_REPORT_INVALID', 400],
      [report([task('a', '1', 'miss', -5)]), 'ERR_RUN_REPORT_INVALID', 400],
      [report([{ ...task('a', '1', 'miss'), env: { SECRET: 'x' } }]), 'ERR_RUN_REPORT_INVALID', 400],
      [report([{ ...task('a', '1', 'miss'), id: 'a\u0000b' }]), 'ERR_RUN_REPORT_INVALID', 400],
      [report([task('a', '1', 'miss')], { nxVersion: '<script>' }), 'ERR_RUN_REPORT_INVALID', 400],
      [report([]).tasks, 'ERR_RUN_REPORT_INVALID', 400],
      [report(Array.from({ length: 2001 }, (_, i) => task('p', String(i), 'miss'))), 'ERR_RUN_REPORT_TOO_LARGE', 413],
      [report([task('x'.repeat(200), '1', 'miss')], { pad: 'y'.repeat(600 * 1024) }), 'ERR_RUN_REPORT_TOO_LARGE', 413],
    ];
    for (const [body, code, status] of cases) {
      const result = await send(w.trusted, body);
      expect([status, code]).toEqual([result.status, codeOf(result)]);
    }
    const notJson = await request(`${ts.url}/w/${w.wsId}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${w.trusted}`, 'content-type': 'application/json' },
      body: '{"tasks": [',
    });
    expect(notJson.statusCode).toBe(400);
    expect(((await notJson.body.json()) as { error: { code: string } }).error.code).toBe('ERR_RUN_REPORT_INVALID');
    expect((await runsOf()).length).toBe(before);
  });

  it('keeps HTML in task ids as text, and an isolated token never reads reports nor inflates time saved', async () => {
    const evil = '<img src=x onerror=alert(1)>:build';
    expect(
      (await send(w.isolated, report([{ ...task('<b>x</b>', '555', 'miss', 600_000_000), id: evil }]))).status,
    ).toBe(201);
    const main = await send(w.trusted, report([task('<b>x</b>', '555', 'remote-hit')]));
    const found = await api<{ run: { savedMs: number; savedUnknown: number } }>(
      ts,
      'GET',
      `/workspaces/${w.wsId}/runs/${main.json<{ id: string }>().id}`,
    );
    expect(found.run).toMatchObject({ savedMs: 0, savedUnknown: 1 });
    const read = await http(`${ts.url}/api/v1/workspaces/${w.wsId}/runs`, { token: w.isolated });
    expect([read.status, codeOf(read)]).toEqual([401, 'ERR_AUTH_TOKEN_KIND_REFUSED']);
  });

  it('answers 200 stored:false and keeps nothing while the workspace has reports off', async () => {
    await api(ts, 'PATCH', `/workspaces/${other.wsId}`, { runReports: false });
    const off = await send(other.trusted, report([task('a', '1', 'miss')]), other.wsId);
    expect(off.status).toBe(200);
    expect(off.json()).toMatchObject({ stored: false, id: null });
    const listed = await api<{ reportsEnabled: boolean; runs: unknown[] }>(ts, 'GET', `/workspaces/${other.wsId}/runs`);
    expect(listed).toMatchObject({ reportsEnabled: false, runs: [] });
    await api(ts, 'PATCH', `/workspaces/${other.wsId}`, { runReports: true });
    expect((await send(other.trusted, report([task('a', '1', 'miss')]), other.wsId)).status).toBe(201);
  });

  it('refuses report spam past the per-credential limit', async () => {
    const spam = await createTierWorkspace(ts);
    const statuses: number[] = [];
    for (let i = 0; i <= RUN_REPORTS_PER_MINUTE; i++)
      statuses.push((await send(spam.trusted, report([]), spam.wsId)).status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(RUN_REPORTS_PER_MINUTE);
    const refused = await send(spam.trusted, report([]), spam.wsId);
    expect([refused.status, codeOf(refused)]).toEqual([429, 'ERR_RUN_REPORT_RATE_LIMITED']);
    ts.clock.advance(61_000);
    expect((await send(spam.trusted, report([]), spam.wsId)).status).toBe(201);
  });

  it('drops reports past --run-report-retention in a retention pass', async () => {
    ts.clock.advance(31 * 86_400_000);
    const run = await api<{ removed: Record<string, { count: number }> }>(ts, 'POST', '/retention/run');
    expect(run.removed['run-reports'].count).toBeGreaterThan(5);
    expect(await runsOf()).toEqual([]);
  });
});
