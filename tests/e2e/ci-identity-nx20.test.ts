/**
 * CI identity with the Nx 20 tasks runner (legacy cache): the runner asks the GitHub Actions token endpoint
 * (a loopback OIDC issuer here) for the job's token and exchanges it, as the plugin's proxy does on Nx 24.
 * Tests run in order and share one workspace.
 */
import {
  type BootstrappedWorkspace,
  type NxRunResult,
  type NxWorkspace,
  type OidcIssuer,
  type RunningServer,
  type TestBed,
  MAIN_PUSH,
  PULL_REQUEST,
  addGithubTrustPolicy,
  assertSucceeded,
  cli,
  startOidcIssuer,
  startTestBed,
} from './harness';

describe('CI identity: GitHub Actions jobs with the Nx 20 runner', () => {
  let bed: TestBed | undefined;
  let issuer: OidcIssuer;
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;

  const output = (result: NxRunResult): string => `${result.stdout}\n${result.stderr}`;
  const all = (outcome: string): Record<string, string> => Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  const runJob = async (requestToken: string): Promise<NxRunResult> => {
    await ws.reset();
    return assertSucceeded(await ws.build(issuer.githubEnv(requestToken)));
  };
  const namespaces = async (): Promise<string[]> =>
    (await cli<{ namespace: string }[]>(['entries', 'list', '--workspace', boot.workspace.id], boot.target))
      .map((e) => e.namespace)
      .sort();

  beforeAll(async () => {
    issuer = await startOidcIssuer();
    bed = await startTestBed('nx20', {
      tokens: false,
      runnerNodePath: true,
      serverArgs: ['--ci-identity-http-loopback', '--ci-identity-issuers', issuer.url],
      workspace: ({ server, boot }) => ({
        patchNxJson: (nxJson) => {
          nxJson.useLegacyCache = true;
          nxJson.tasksRunnerOptions = {
            default: { runner: 'nx-sealed-cache', options: { url: server.url, workspaceId: boot.workspace.id } },
          };
        },
      }),
    });
    ({ server, boot, ws } = bed);
    await addGithubTrustPolicy(boot, issuer.url, server.url, ws.tempDir);
  });

  afterAll(async () => {
    await bed?.dispose();
    await issuer?.stop();
  });

  it('a push to main writes the shared tier', async () => {
    const result = await runJob(issuer.serveGithubJob(MAIN_PUSH));
    expect(result.outcomes).toEqual(all('miss'));
    expect(output(result)).toContain('identity: GitHub Actions, acme/mono@refs/heads/main (trusted, read-write)');
    expect(await namespaces()).toEqual(ws.projects.map(() => 'shared'));
  });

  it('a pull request reads main, and its own change lands only in its scope', async () => {
    ws.writeFile('projects/c/src/message.txt', 'changed by the pull request\n');
    const result = await runJob(issuer.serveGithubJob(PULL_REQUEST));
    expect(result.outcomes).toEqual({ ...all('remote'), c: 'miss' });
    expect(output(result)).toContain('(isolated, read-write)');
    expect(await namespaces()).toEqual([...ws.projects.map(() => 'shared'), 's:pr-12'].sort());
  });

  it('pull_request_target naming main is refused; the build stays green and writes nothing', async () => {
    ws.writeFile('projects/c/src/message.txt', 'changed again\n');
    const before = await namespaces();
    const result = await runJob(issuer.serveGithubJob({ ...MAIN_PUSH, event: 'pull_request_target' }));
    expect(output(result)).toMatch(
      /identity: GitHub Actions, none \(the server refused .*\[ERR_CI_IDENTITY_REFUSED\]\)/,
    );
    expect(result.outcomes.c).toBe('miss');
    expect(await namespaces()).toEqual(before);
  });
});
