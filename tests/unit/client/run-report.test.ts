/** The run report as the hook and the runner build it from Nx's results, and its sending: a real server, a silent one. */
import net from 'node:net';
import { sendRunReport } from '../../../src/client/run-report';
import { cacheableTargetsOf, nxJsonCacheableTargets, runReportDraft } from '../../../src/run-report-shape';
import { api, startTestServer, type TestServer } from '../server/test-server';

const nxTask = (project: string, hash: string, over: Record<string, unknown> = {}) => ({
  id: `${project}:build`,
  target: { project, target: 'build' },
  hash,
  startTime: 1_000,
  endTime: 3_500,
  cache: true,
  overrides: { secret: 'never sent' },
  outputs: ['dist/a'],
  ...over,
});

describe('runReportDraft', () => {
  it("maps Nx's statuses, keeps only ids, hashes and durations, and leaves out what says nothing of the cache", () => {
    const draft = runReportDraft(
      [
        [nxTask('a', '1'), 'success'],
        [nxTask('b', '2'), 'remote-cache'],
        [nxTask('c', '3'), 'local-cache-kept-existing'],
        [nxTask('d', '4'), 'failure'],
        [nxTask('e', '5'), 'skipped'],
        [nxTask('f', '6', { cache: false }), 'success'],
        [nxTask('g', '../x'), 'success'],
        [nxTask('h', '8', { startTime: 5, endTime: 1 }), 'local-cache'],
        [{ id: 'bad' }, 'success'],
      ],
      '20.8.2',
      Date.UTC(2030, 0, 1),
      'yesterday',
    );
    expect(draft).toEqual({
      nxVersion: '20.8.2',
      startedAt: '2030-01-01T00:00:00.000Z',
      endedAt: null,
      tasks: [
        { id: 'a:build', project: 'a', target: 'build', hash: '1', status: 'miss', durationMs: 2500 },
        { id: 'b:build', project: 'b', target: 'build', hash: '2', status: 'remote-hit', durationMs: 2500 },
        { id: 'c:build', project: 'c', target: 'build', hash: '3', status: 'local-hit', durationMs: 2500 },
        { id: 'd:build', project: 'd', target: 'build', hash: '4', status: 'failed', durationMs: 2500 },
        { id: 'h:build', project: 'h', target: 'build', hash: '8', status: 'local-hit', durationMs: null },
      ],
    });
    expect(JSON.stringify(draft)).not.toContain('never sent');
  });

  it("leaves out a task whose cache Nx 17–22 left unset unless the runner's options list its target", () => {
    const unset = (project: string, target: string) => ({
      ...nxTask(project, project.charCodeAt(0).toString()),
      id: `${project}:${target}`,
      target: { project, target },
      cache: undefined,
    });
    const results: [unknown, unknown][] = [
      [unset('a', 'build'), 'success'],
      [unset('b', 'lint'), 'success'],
      [nxTask('c', '9', { cache: false }), 'success'],
    ];
    expect(runReportDraft(results, null).tasks).toEqual([]);
    const nxJson = {
      tasksRunnerOptions: { default: { runner: 'nx-sealed-cache', options: { cacheableOperations: ['build'] } } },
    };
    expect(nxJsonCacheableTargets(nxJson)).toEqual(['build']);
    expect(cacheableTargetsOf({ cacheableTargets: ['lint', 7] })).toEqual(['lint']);
    expect(nxJsonCacheableTargets({ tasksRunnerOptions: 'odd' })).toEqual([]);
    const reported = runReportDraft(results, null, undefined, undefined, nxJsonCacheableTargets(nxJson));
    expect(reported.tasks.map((task) => task.id)).toEqual(['a:build']);
  });

  it('caps a run at the 2000 tasks the server takes', () => {
    const many = Array.from({ length: 2100 }, (_, i): [unknown, unknown] => [nxTask(`p${i}`, String(i)), 'success']);
    expect(runReportDraft(many, null).tasks).toHaveLength(2000);
  });
});

describe('sendRunReport', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterAll(() => ts.stop());

  const report = {
    client: 'runner' as const,
    nxVersion: '20.8.2',
    startedAt: null,
    endedAt: null,
    tasks: [{ id: 'a:build', project: 'a', target: 'build', hash: '1', status: 'miss' as const, durationMs: 10 }],
  };

  it('is taken by the server, and a refusal is one warning line with its code', async () => {
    await api(ts, 'POST', '/orgs', { name: 'acme' });
    const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' });
    const ci = await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: ws.id, access: 'read' });
    const config = { url: ts.url, workspaceId: undefined, credential: { source: 'env' as const, token: ci.token } };
    expect(await sendRunReport(config, report)).toBeNull();
    const runs = await api<{ runs: { tasks: number }[] }>(ts, 'GET', `/workspaces/${ws.id}/runs`);
    expect(runs.runs).toEqual([expect.objectContaining({ tasks: 1, reporter: 'unnamed CI token (read)' })]);
    const bad = await sendRunReport(config, { ...report, tasks: [{ ...report.tasks[0], hash: '../x' }] });
    expect(bad).toMatch(
      /^nx-sealed-cache: the run report was not sent \(.*ERR_RUN_REPORT_INVALID.*\); the build is not affected\.$/,
    );
  });

  it('gives up on a server that never answers within its timeout, with one line', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const started = Date.now();
    const warning = await sendRunReport(
      { url: `http://127.0.0.1:${port}`, workspaceId: undefined, credential: { source: 'env', token: 'nxsc_x' } },
      report,
      300,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(warning).toBe(
      'nx-sealed-cache: the run report was not sent (no answer within 300 ms); the build is not affected.',
    );
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => silent.close(resolve));
  });

  it('sends nothing for an anonymous run or a run without tasks', async () => {
    const nowhere = { url: 'http://127.0.0.1:9', workspaceId: 'ws_x', credential: { source: 'none' as const } };
    expect(await sendRunReport(nowhere, report)).toBeNull();
    expect(
      await sendRunReport({ ...nowhere, credential: { source: 'env', token: 't' } }, { ...report, tasks: [] }),
    ).toBeNull();
  });
});
