/**
 * The client's side of CI identity against a real server and a loopback issuer: GitLab's variable and
 * GitHub's token endpoint, one exchange per job token (a GitLab JWT can be spent once), and every way of
 * having no identity ending in the config unchanged with a reason, never an error.
 */
import { applyCiIdentity, describeIdentity, forgetExchangedTokens, resolveClientConfig } from '../../../src/client';
import { MAIN_PUSH, type OidcIssuer, startOidcIssuer } from '../../e2e/harness/oidc-issuer';
import { api, startTestServer, type TestServer } from '../server/test-server';

let ts: TestServer;
let issuer: OidcIssuer;
let ws: string;

beforeAll(async () => {
  issuer = await startOidcIssuer(() => ts.clock.now.getTime());
  ts = await startTestServer({ config: { ciIdentityHttpLoopback: true, ciIdentityIssuers: [issuer.url] } });
});
beforeAll(async () => {
  await api(ts, 'POST', '/orgs', { name: 'acme' });
  ws = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' })).id;
  for (const provider of ['github', 'gitlab'] as const)
    await api(ts, 'POST', `/workspaces/${ws}/trust-policies`, {
      name: provider,
      provider,
      issuer: issuer.url,
      audience: provider === 'github' ? ts.url : 'https://cache.example.com',
      rules:
        provider === 'github'
          ? [{ claims: { repository_id: '101', event_name: 'push', ref: 'refs/heads/main' }, outcome: 'trusted' }]
          : [{ claims: { project_id: '55', ref_protected: 'true' }, outcome: 'trusted' }],
    });
});
afterEach(() => forgetExchangedTokens());
afterAll(async () => {
  await issuer.stop();
  await ts.stop();
});

const configFor = (options: Record<string, unknown>, env: Record<string, string> = {}) =>
  resolveClientConfig({ options: { url: ts.url, workspaceId: ws, ...options }, env, homeDir: '/nonexistent' });

describe('CI identity on the client', () => {
  it('exchanges the GitLab variable once per job, however many runs ask', async () => {
    const jwt = await issuer.gitlab(
      { projectPath: 'acme/mono', projectId: 55, ref: 'main', protected: true },
      { audience: 'https://cache.example.com' },
    );
    const env = { GITLAB_CI: 'true', CACHE_ID_TOKEN: jwt };
    const options = { idTokenVariable: 'CACHE_ID_TOKEN' };
    const first = await applyCiIdentity(configFor(options, env), env);
    expect(first.credential.source).toBe('ci-identity');
    expect(first.credential.token).toMatch(/^nxsc_ci_/);
    expect(describeIdentity(first.identity!)).toBe('identity: GitLab CI, acme/mono@main (trusted, read-write)');
    // A second run of the same job: the same cache token, no second exchange (which would be a replay).
    const second = await applyCiIdentity(configFor(options, env), env);
    expect(second.credential.token).toBe(first.credential.token);
  });

  it("asks GitHub's token endpoint with the server's origin as audience", async () => {
    const env = issuer.githubEnv(issuer.serveGithubJob(MAIN_PUSH));
    const config = await applyCiIdentity(configFor({}, env), env);
    expect(config.identity).toMatchObject({ provider: 'GitHub Actions', outcome: 'trusted', access: 'read-write' });
  });

  it.each<[string, Record<string, unknown>, () => Record<string, string>, string]>([
    ['a GitHub job without id-token: write', {}, () => ({ GITHUB_ACTIONS: 'true' }), 'no OIDC token offered'],
    [
      'a GitLab job without the variable',
      { idTokenVariable: 'CACHE_ID_TOKEN' },
      () => ({ GITLAB_CI: 'true' }),
      'no identity token in CACHE_ID_TOKEN',
    ],
    [
      'a token the server refuses',
      {},
      () => issuer.githubEnv(issuer.serveGithubJob({ ...MAIN_PUSH, event: 'pull_request_target' })),
      '[ERR_CI_IDENTITY_REFUSED]',
    ],
    [
      'a runner endpoint that refuses the request token',
      {},
      () => ({ ...issuer.githubEnv('not-the-request-token') }),
      "could not get the job's OIDC token from GitHub Actions (the runner answered 403)",
    ],
  ])('falls back, with the reason, for %s', async (_what, options, env, reason) => {
    const vars = env();
    const config = await applyCiIdentity(configFor(options, vars), vars);
    expect(config.credential.source).toBe('none');
    expect(config.identity?.failure).toContain(reason);
  });

  it('leaves other credentials and non-CI runs alone', async () => {
    const token = 'nxsc_ci_' + 'a'.repeat(38);
    const withToken = configFor({}, { NX_SEALED_CACHE_ACCESS_TOKEN: token });
    expect(await applyCiIdentity(withToken, issuer.githubEnv('x'))).toBe(withToken);
    const plain = configFor({});
    expect(await applyCiIdentity(plain, {})).toBe(plain);
    const off = configFor({ ciIdentity: false });
    expect(await applyCiIdentity(off, issuer.githubEnv('x'))).toBe(off);
  });
});
