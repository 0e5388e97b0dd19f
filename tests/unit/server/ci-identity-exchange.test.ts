/**
 * CI identity on a real server: trust policies through the admin API, and the token exchange against a
 * local OIDC issuer on loopback. Each hostile token is refused with its own code, and the exchanged
 * tokens write where the policy says.
 */
import { MAIN_PUSH, type OidcIssuer, PULL_REQUEST, startOidcIssuer } from '../../e2e/harness/oidc-issuer';
import { api, http, startTestServer, type TestServer } from './test-server';

let ts: TestServer;
let issuer: OidcIssuer;
let ws: string;
let audience: string;

interface ExchangeAnswer {
  token: string;
  expiresAt: string;
  error?: { code: string; message: string };
  [field: string]: unknown;
}

async function exchange(token: string): Promise<{ status: number; body: ExchangeAnswer }> {
  const result = await http(`${ts.url}/api/v1/ci-identity/exchange`, {
    method: 'POST',
    body: { workspaceId: ws, token },
  });
  return { status: result.status, body: result.json<ExchangeAnswer>() };
}

const codeOf = async (token: string): Promise<string> => (await exchange(token)).body.error?.code ?? 'none';

beforeAll(async () => {
  // The issuer first: the server admin lists it (--ci-identity-issuers) before policies may fetch its keys.
  issuer = await startOidcIssuer(() => ts.clock.now.getTime());
  ts = await startTestServer({ config: { ciIdentityHttpLoopback: true, ciIdentityIssuers: [issuer.url] } });
  audience = ts.url;
});
beforeAll(async () => {
  await api(ts, 'POST', '/orgs', { name: 'acme' });
  ws = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' })).id;
  await api(ts, 'POST', `/workspaces/${ws}/trust-policies`, {
    name: 'github',
    provider: 'github',
    issuer: issuer.url,
    audience,
    rules: [
      {
        name: 'main',
        claims: { repository_id: '101', event_name: 'push', ref: 'refs/heads/main' },
        outcome: 'trusted',
      },
    ],
  });
  // A second policy for another audience: pull requests isolated.
  await api(ts, 'POST', `/workspaces/${ws}/trust-policies`, {
    name: 'github-prs',
    provider: 'github',
    issuer: issuer.url,
    audience: `${audience}/prs`,
    rules: [{ claims: { repository_id: '101', event_name: 'pull_request' }, outcome: 'isolated' }],
  });
});
afterAll(async () => {
  await issuer.stop();
  await ts.stop();
});

describe('trust policies', () => {
  it.each([
    [
      'a trusted rule without the event',
      { claims: { repository_id: '101', ref: 'refs/heads/main' }, outcome: 'trusted' },
      'event_name',
    ],
    [
      'a trusted rule open to pull_request_target',
      {
        claims: { repository_id: '101', ref: 'refs/heads/main', event_name: ['push', 'pull_request_target'] },
        outcome: 'trusted',
      },
      'event_name',
    ],
    [
      'a trusted rule on a ref prefix',
      { claims: { repository_id: '101', event_name: 'push', ref: 'refs/heads/*' }, outcome: 'trusted' },
      'ref',
    ],
    ['a repository matched by name', { claims: { repository: 'acme/mono' }, outcome: 'isolated' }, 'numeric'],
  ])('refuses %s', async (_what, rule, words) => {
    const result = await http(`${ts.url}/api/v1/workspaces/${ws}/trust-policies`, {
      method: 'POST',
      token: ts.adminToken,
      body: { name: 'bad', provider: 'github', issuer: issuer.url, audience, rules: [rule] },
    });
    expect(result.status).toBe(400);
    expect(result.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'ERR_INPUT_INVALID',
      message: expect.stringContaining(words),
    });
  });

  it('refuses a plain-http issuer that is not loopback, and a JWKS URL on another origin', async () => {
    for (const body of [
      { issuer: 'http://issuer.example.com' },
      { issuer: issuer.url, jwksUrl: 'https://elsewhere.example.com/keys' },
    ]) {
      const result = await http(`${ts.url}/api/v1/workspaces/${ws}/trust-policies`, {
        method: 'POST',
        token: ts.adminToken,
        body: {
          name: 'bad',
          provider: 'github',
          audience,
          rules: [{ claims: { repository_id: '1' }, outcome: 'read-only' }],
          ...body,
        },
      });
      expect(result.status).toBe(400);
    }
  });

  it('lists the workspace policies and deletes by name', async () => {
    await api(ts, 'POST', `/workspaces/${ws}/trust-policies`, {
      name: 'doomed',
      provider: 'gitlab',
      issuer: issuer.url,
      audience,
      rules: [{ claims: { project_id: '5' }, outcome: 'read-only' }],
    });
    const names = (await api<{ name: string }[]>(ts, 'GET', `/workspaces/${ws}/trust-policies`)).map((p) => p.name);
    expect(names.sort()).toEqual(['doomed', 'github', 'github-prs']);
    await api(ts, 'DELETE', `/workspaces/${ws}/trust-policies/doomed`);
    const again = await http(`${ts.url}/api/v1/workspaces/${ws}/trust-policies/doomed`, {
      method: 'DELETE',
      token: ts.adminToken,
    });
    expect(again.json<{ error: { code: string } }>().error.code).toBe('ERR_TRUST_POLICY_NOT_FOUND');
  });
});

describe('the token exchange', () => {
  it('gives a main push a trusted token for about an hour, recorded with its claims', async () => {
    const { status, body } = await exchange(await issuer.github(MAIN_PUSH, { audience }));
    expect(status).toBe(201);
    expect(body).toMatchObject({
      kind: 'ci',
      access: 'read-write',
      tier: 'trusted',
      scope: null,
      namespace: 'shared',
      identity: { provider: 'GitHub Actions', summary: 'acme/mono@refs/heads/main', outcome: 'trusted' },
    });
    expect(Date.parse(body.expiresAt) - ts.clock.now.getTime()).toBe(60 * 60_000);
    const stored = await http(`${ts.url}/v1/cache/main-hash`, { method: 'PUT', token: body.token, raw: 'artifact' });
    expect(stored.status).toBe(200);
    const entries = await api<{ hash: string; writerIdentity: string | null }[]>(ts, 'GET', `/entries?workspace=${ws}`);
    expect(entries.find((e) => e.hash === 'main-hash')?.writerIdentity).toBe(
      'acme/mono@refs/heads/main (run 4242, octocat)',
    );
    const audit = await api<{ action: string; details: Record<string, unknown> }[]>(ts, 'GET', '/audit?org=acme');
    const entry = audit.find((e) => e.action === 'ci-identity.exchanged');
    expect(entry?.details.claims).toMatchObject({
      repository: 'acme/mono',
      ref: 'refs/heads/main',
      event_name: 'push',
      run_id: '4242',
      actor: 'octocat',
    });
  });

  it('gives a pull request an isolated token in its own scope, which cannot mint', async () => {
    const { body } = await exchange(await issuer.github(PULL_REQUEST, { audience: `${audience}/prs` }));
    expect(body).toMatchObject({
      tier: 'isolated',
      scope: 'pr-12',
      namespace: 'scope pr-12',
      identity: { outcome: 'isolated' },
    });
    const mint = await http(`${ts.url}/api/v1/tokens/mint`, {
      method: 'POST',
      token: body.token,
      body: { scope: 'pr-99' },
    });
    expect(mint.status).toBe(403);
  });

  it('never lets a token outlive the policy counted from when the identity token was issued', async () => {
    const { body } = await exchange(await issuer.github(MAIN_PUSH, { audience, issuedAt: -30 * 60, expiresIn: 300 }));
    expect(Date.parse(body.expiresAt) - ts.clock.now.getTime()).toBe(30 * 60_000);
  });

  it('refuses pull_request_target naming main: the trusted rule needs a push', async () => {
    const { status, body } = await exchange(
      await issuer.github({ ...MAIN_PUSH, event: 'pull_request_target' }, { audience }),
    );
    expect(status).toBe(403);
    expect(body.error?.code).toBe('ERR_CI_IDENTITY_REFUSED');
    expect(body.error?.message).toContain('no rule of trust policy github matches');
  });

  it.each<[string, () => Promise<string> | string, string]>([
    [
      'another repository',
      () => issuer.github({ ...MAIN_PUSH, repositoryId: 202, repository: 'evil/mono' }, { audience }),
      'ERR_CI_IDENTITY_REFUSED',
    ],
    [
      'an expired token',
      () => issuer.github(MAIN_PUSH, { audience, issuedAt: -600, expiresIn: -120 }),
      'ERR_CI_IDENTITY_EXPIRED',
    ],
    [
      'a token not valid yet',
      () => issuer.github(MAIN_PUSH, { audience, issuedAt: 600, expiresIn: 900 }),
      'ERR_CI_IDENTITY_EXPIRED',
    ],
    [
      'a wrong audience',
      () => issuer.github(MAIN_PUSH, { audience: 'https://other.example.com' }),
      'ERR_CI_IDENTITY_AUDIENCE',
    ],
    [
      'alg none',
      () =>
        issuer.algNone({ sub: 'x', repository_id: '101', event_name: 'push', ref: 'refs/heads/main' }, { audience }),
      'ERR_CI_IDENTITY_ALG_REFUSED',
    ],
    [
      'HS256 keyed with the public key',
      () =>
        issuer.hs256WithPublicKey(
          { sub: 'x', repository_id: '101', event_name: 'push', ref: 'refs/heads/main' },
          { audience },
        ),
      'ERR_CI_IDENTITY_ALG_REFUSED',
    ],
    ['an unknown kid', () => issuer.github(MAIN_PUSH, { audience, unknownKid: true }), 'ERR_CI_IDENTITY_KEY_UNKNOWN'],
    [
      'another issuer',
      () => issuer.github(MAIN_PUSH, { audience, issuer: 'https://token.example.com' }),
      'ERR_CI_IDENTITY_NO_POLICY',
    ],
    ['not a JWT', () => 'not-a-jwt', 'ERR_CI_IDENTITY_INVALID'],
  ])('refuses %s', async (_what, make, code) => {
    expect(await codeOf(await make())).toBe(code);
  });

  it('asks every policy of the issuer and audience: the first that grants decides', async () => {
    await api(ts, 'POST', '/orgs', { name: 'layered' });
    const layered = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'layered', name: 'mono' })).id;
    const add = (name: string, rules: unknown[]) =>
      api(ts, 'POST', `/workspaces/${layered}/trust-policies`, {
        name,
        provider: 'github',
        issuer: issuer.url,
        audience,
        rules,
      });
    await add('nothing', [{ claims: {}, outcome: 'refused' }]);
    await add('main', [
      { claims: { repository_id: '101', event_name: 'push', ref: 'refs/heads/main' }, outcome: 'trusted' },
    ]);
    const result = await http(`${ts.url}/api/v1/ci-identity/exchange`, {
      method: 'POST',
      body: { workspaceId: layered, token: await issuer.github(MAIN_PUSH, { audience }) },
    });
    expect(result.json()).toMatchObject({ tier: 'trusted', identity: { reason: 'rule 1 of trust policy main' } });
  });

  it('refuses a replayed jti', async () => {
    const token = await issuer.github(MAIN_PUSH, { audience });
    expect((await exchange(token)).status).toBe(201);
    expect(await codeOf(token)).toBe('ERR_CI_IDENTITY_REPLAYED');
  });

  it('refetches the keys for an unknown kid at most once per cooldown', async () => {
    const before = issuer.jwksFetches();
    ts.clock.advance(31_000);
    await codeOf(await issuer.github(MAIN_PUSH, { audience, unknownKid: true }));
    await codeOf(await issuer.github(MAIN_PUSH, { audience, unknownKid: true }));
    expect(issuer.jwksFetches()).toBe(before + 1);
  });

  it('verifies with inline keys, for air-gapped issuers, without fetching', async () => {
    await api(ts, 'POST', '/orgs', { name: 'offline' });
    const offline = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'offline', name: 'mono' })).id;
    await api(ts, 'POST', `/workspaces/${offline}/trust-policies`, {
      name: 'gitlab',
      provider: 'gitlab',
      issuer: issuer.url,
      audience,
      jwks: issuer.jwks(),
      rules: [{ claims: { project_id: '55', ref_protected: 'true' }, outcome: 'trusted' }],
    });
    const before = issuer.jwksFetches();
    const result = await http(`${ts.url}/api/v1/ci-identity/exchange`, {
      method: 'POST',
      body: {
        workspaceId: offline,
        token: await issuer.gitlab(
          { projectPath: 'acme/mono', projectId: 55, ref: 'main', protected: true },
          { audience },
        ),
      },
    });
    expect(result.json()).toMatchObject({
      tier: 'trusted',
      identity: { provider: 'GitLab CI', summary: 'acme/mono@main' },
    });
    expect(issuer.jwksFetches()).toBe(before);
  });
});
