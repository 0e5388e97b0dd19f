/** The proxy sends a run's report when the hook finishes the run, and a failed send is one more warning line. */
import { RunRegistry } from '../../../src/proxy/run-registry';
import { offlineSession, type ProxyRunSession } from '../../../src/proxy/run-session';
import type { RunReportBody } from '../../../src/run-report-shape';

const draft = {
  nxVersion: '24.0.6',
  startedAt: null,
  endedAt: null,
  tasks: [{ id: 'a:build', project: 'a', target: 'build', hash: '1', status: 'miss' as const, durationMs: 5 }],
};

function registryReporting(answer: string | null, sent: RunReportBody[]): RunRegistry {
  return new RunRegistry(async () => {
    const session: ProxyRunSession = {
      ...offlineSession('unused'),
      mode: 'read-write',
      summary: () => 'nx-sealed-cache: 0 remote hits',
      reportRun: async (report) => {
        sent.push(report);
        return answer;
      },
    };
    return session;
  });
}

it('sends the report as the plugin once the last registration of the run finishes', async () => {
  const sent: RunReportBody[] = [];
  const registry = registryReporting(null, sent);
  registry.register('run-1', 's'.repeat(40), 0);
  registry.register('run-1', 't'.repeat(40), 0);
  expect(await registry.finish('run-1', draft)).toEqual({ summary: '', warnings: [] });
  expect(sent).toEqual([]);
  expect(await registry.finish('run-1', draft)).toEqual({ summary: 'nx-sealed-cache: 0 remote hits', warnings: [] });
  expect(sent).toEqual([{ client: 'plugin', ...draft }]);
});

it('adds the failed send as one warning line, and sends nothing without a report', async () => {
  const sent: RunReportBody[] = [];
  const registry = registryReporting(
    'nx-sealed-cache: the run report was not sent (x); the build is not affected.',
    sent,
  );
  registry.register('run-2', 's'.repeat(40), 0);
  expect((await registry.finish('run-2', draft))?.warnings).toEqual([
    'nx-sealed-cache: the run report was not sent (x); the build is not affected.',
  ]);
  registry.register('run-3', 's'.repeat(40), 0);
  await registry.finish('run-3');
  expect(sent).toHaveLength(1);
});
