/**
 * CI identity with the real nx 24 CLI, the plugin and its proxy: GitHub Actions jobs (a local OIDC issuer on
 * loopback plays the runner's token endpoint) carry no cache secret at all; the server's trust policy decides
 * from the verified claims where each run writes. Every refused identity keeps the build green, with the
 * reason in the run summary. Tests run in order and share one workspace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

const CHANGED_SOURCE = 'projects/c/src/message.txt';
const LEAK_FILE = 'leaked-env.json';

interface EntryJson {
  namespace: string;
}

describe('CI identity: GitHub Actions jobs on Nx 24 exchange their OIDC token', () => {
  let bed: TestBed | undefined;
  let issuer: OidcIssuer;
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;

  const output = (result: NxRunResult): string => `${result.stdout}\n${result.stderr}`;
  const all = (outcome: string): Record<string, string> => Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  /** One job: a fresh local cache, the job's GitHub variables, nothing else. */
  const runJob = async (requestToken: string | undefined): Promise<NxRunResult> => {
    await ws.reset();
    const env = requestToken === undefined ? { GITHUB_ACTIONS: 'true' } : issuer.githubEnv(requestToken);
    return assertSucceeded(await ws.build(env));
  };
  const namespaces = async (): Promise<Record<string, number>> => {
    const entries = await cli<EntryJson[]>(['entries', 'list', '--workspace', boot.workspace.id], boot.target);
    const counts: Record<string, number> = {};
    for (const e of entries) counts[e.namespace] = (counts[e.namespace] ?? 0) + 1;
    return counts;
  };

  beforeAll(async () => {
    issuer = await startOidcIssuer();
    bed = await startTestBed('nx24', {
      tokens: false,
      proxyDir: true,
      serverArgs: ['--ci-identity-http-loopback', '--ci-identity-issuers', issuer.url],
      // Fork pull requests get no identity token: they read main's entries anonymously.
      bootstrap: { anonymous: 'read' },
      workspace: ({ server, boot, proxyDir }) => ({
        patchNxJson: (json) => {
          json.plugins = [
            {
              plugin: 'nx-sealed-cache',
              options: { url: server.url, workspaceId: boot.workspace.id, timeoutMs: 5_000 },
            },
          ];
        },
        env: { NX_SEALED_CACHE_PROXY_DIR: proxyDir, NX_SEALED_CACHE_PROXY_IDLE_MS: '1500' },
      }),
    });
    ({ server, boot, ws } = bed);
    // A project whose only target writes the environment its task sees.
    ws.writeFile(
      'projects/e/project.json',
      JSON.stringify({
        name: 'e',
        targets: {
          leak: { executor: 'nx:run-commands', cache: false, options: { command: 'node projects/e/leak.js' } },
        },
      }),
    );
    ws.writeFile(
      'projects/e/leak.js',
      `require('fs').writeFileSync(${JSON.stringify(LEAK_FILE)}, JSON.stringify(process.env));\n`,
    );
    await addGithubTrustPolicy(boot, issuer.url, server.url, ws.tempDir);
  });

  afterAll(async () => {
    await bed?.dispose();
    await issuer?.stop();
  });

  it('a push to main writes the shared tier, and says who it is', async () => {
    const result = await runJob(issuer.serveGithubJob(MAIN_PUSH));
    expect(result.outcomes).toEqual(all('miss'));
    expect(output(result)).toContain('identity: GitHub Actions, acme/mono@refs/heads/main (trusted, read-write)');
    expect(output(result)).toMatch(/4 uploads/);
    expect(await namespaces()).toEqual({ shared: ws.projects.length });
  });

  it("tasks see neither the job's OIDC request secrets nor the exchanged token", async () => {
    const requestToken = issuer.serveGithubJob(MAIN_PUSH);
    assertSucceeded(await ws.run(['run', 'e:leak'], issuer.githubEnv(requestToken)));
    const text = readFileSync(join(ws.root, LEAK_FILE), 'utf8');
    const leaked = JSON.parse(text) as Record<string, string>;
    // Nx forwards the scrub as a blank (docs/client.md): present, empty.
    expect([leaked.ACTIONS_ID_TOKEN_REQUEST_URL ?? '', leaked.ACTIONS_ID_TOKEN_REQUEST_TOKEN ?? '']).toEqual(['', '']);
    expect(text).not.toContain(requestToken);
    expect(text).not.toContain(issuer.url);
    expect(text).not.toMatch(/nxsc_ci_/);
  });

  it('a pull request reads what main stored, and writes only its own scope, which its next run reads back', async () => {
    const first = await runJob(issuer.serveGithubJob(PULL_REQUEST));
    expect(first.outcomes).toEqual(all('remote'));
    expect(output(first)).toContain('identity: GitHub Actions, acme/mono@refs/pull/12/merge (isolated, read-write)');

    ws.writeFile(CHANGED_SOURCE, 'changed by the pull request\n');
    const changed = await runJob(issuer.serveGithubJob(PULL_REQUEST));
    expect(changed.outcomes).toEqual({ ...all('remote'), c: 'miss' });
    expect(await namespaces()).toEqual({ shared: ws.projects.length, 's:pr-12': 1 });
    const again = await runJob(issuer.serveGithubJob(PULL_REQUEST));
    expect(again.outcomes).toEqual(all('remote'));
    // Main never sees the pull request's entry.
    const main = await runJob(issuer.serveGithubJob(MAIN_PUSH));
    expect(main.outcomes).toEqual({ ...all('remote'), c: 'miss' });
  });

  const pinned = (claims: Record<string, string>) => ({ sub: 'repo:acme/mono', ...claims });
  const mainClaims = pinned({
    repository_id: '101',
    repository_owner_id: '9',
    event_name: 'push',
    ref: 'refs/heads/main',
  });
  it.each<[string, () => string, string]>([
    [
      'another repository',
      () => issuer.serveGithubJob({ ...MAIN_PUSH, repository: 'evil/mono', repositoryId: 666 }),
      'ERR_CI_IDENTITY_REFUSED',
    ],
    [
      'an expired token',
      () => issuer.serveGithubJob(MAIN_PUSH, { issuedAt: -900, expiresIn: -300 }),
      'ERR_CI_IDENTITY_EXPIRED',
    ],
    [
      'a wrong audience',
      () => issuer.serve(() => issuer.github(MAIN_PUSH, { audience: 'https://other.example.com' })),
      'ERR_CI_IDENTITY_AUDIENCE',
    ],
    [
      'alg none',
      () => issuer.serve((audience) => issuer.algNone(mainClaims, { audience })),
      'ERR_CI_IDENTITY_ALG_REFUSED',
    ],
    [
      'HS256 signed with the public key',
      () => issuer.serve((audience) => issuer.hs256WithPublicKey(mainClaims, { audience })),
      'ERR_CI_IDENTITY_ALG_REFUSED',
    ],
    ['an unknown kid', () => issuer.serveGithubJob(MAIN_PUSH, { unknownKid: true }), 'ERR_CI_IDENTITY_KEY_UNKNOWN'],
    [
      'pull_request_target naming main',
      () => issuer.serveGithubJob({ ...MAIN_PUSH, event: 'pull_request_target' }),
      'ERR_CI_IDENTITY_REFUSED',
    ],
  ])('%s is refused with the reason in the summary, and the build stays green', async (_what, serve, code) => {
    const before = await namespaces();
    ws.writeFile(CHANGED_SOURCE, `changed for ${code} ${Math.random()}\n`);
    const result = await runJob(serve());
    expect(output(result)).toMatch(
      new RegExp(`identity: GitHub Actions, none \\(the server refused the identity token: .*\\[${code}\\]\\)`),
    );
    // Anonymous is read-only here: nothing new was written anywhere.
    expect(result.outcomes.c).toBe('miss');
    expect(await namespaces()).toEqual(before);
  });

  it('a replayed jti is refused', async () => {
    const jwt = await issuer.github(MAIN_PUSH, { audience: server.url });
    const first = await runJob(issuer.serve(() => jwt));
    expect(output(first)).toContain('(trusted, read-write)');
    const replay = await runJob(issuer.serve(() => jwt));
    expect(output(replay)).toMatch(/identity: GitHub Actions, none \(.*\[ERR_CI_IDENTITY_REPLAYED\]\)/);
  });

  it('a job without an identity token (a fork) reads anonymously and says why', async () => {
    const result = await runJob(undefined);
    expect(output(result)).toContain('identity: GitHub Actions, none (no OIDC token offered');
    expect(result.outcomes.a).toBe('remote');
  });
});
