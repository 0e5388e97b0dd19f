/** The trust-policy rules as pure functions: what may be stored, and what one set of verified claims gets. */
import {
  type TrustPolicy,
  checkNewPolicy,
  decideClaims,
  grantOf,
  NewTrustPolicyBody,
} from '../../../src/server/ci-identity/trust-policy';
import { issuerControl, isLoopbackHost } from '../../../src/server/ci-identity/issuer-allowlist';

const control = (ciIdentityHttpLoopback: boolean, ciIdentityIssuers: string[] = []) =>
  issuerControl({ ciIdentityHttpLoopback, ciIdentityIssuers });

const github = (rules: TrustPolicy['rules']): Pick<TrustPolicy, 'provider' | 'rules' | 'name'> => ({
  provider: 'github',
  name: 'gh',
  rules,
});
const MAIN_RULE = {
  claims: { repository_id: '101', event_name: 'push', ref: 'refs/heads/main' },
  outcome: 'trusted' as const,
};
const PR_RULE = { claims: { repository_id: '101', event_name: 'pull_request' }, outcome: 'isolated' as const };
const claims = (extra: Record<string, unknown>) => ({ repository: 'acme/mono', repository_id: '101', ...extra });

describe('deciding', () => {
  const policy = github([MAIN_RULE, PR_RULE]);

  it('trusts a push to main and isolates a pull request in pr-<n>', () => {
    expect(decideClaims(policy, claims({ event_name: 'push', ref: 'refs/heads/main' })).outcome).toBe('trusted');
    expect(decideClaims(policy, claims({ event_name: 'pull_request', ref: 'refs/pull/7/merge' }))).toMatchObject({
      outcome: 'isolated',
      scope: 'pr-7',
    });
  });

  it('refuses what no rule matches: deny by default', () => {
    expect(decideClaims(policy, claims({ event_name: 'pull_request_target', ref: 'refs/heads/main' }))).toEqual({
      outcome: 'refused',
      reason: 'no rule of trust policy gh matches this job',
    });
    expect(decideClaims(github([]), claims({})).outcome).toBe('refused');
  });

  it('matches numeric ids as the issuer signed them, never a near miss', () => {
    expect(decideClaims(policy, { repository_id: 101, event_name: 'push', ref: 'refs/heads/main' }).outcome).toBe(
      'trusted',
    );
    for (const id of ['1010', '101 ', ['101'], null])
      expect(decideClaims(policy, { repository_id: id, event_name: 'push', ref: 'refs/heads/main' }).outcome).toBe(
        'refused',
      );
  });

  it('checks a trusted rule against the claims again, even one stored before the rules tightened', () => {
    const loose = github([{ claims: { repository_id: '101' }, outcome: 'trusted' }]);
    expect(decideClaims(loose, claims({ event_name: 'pull_request_target', ref: 'refs/heads/main' })).reason).toContain(
      'event pull_request_target',
    );
    const gitlab = {
      provider: 'gitlab' as const,
      name: 'gl',
      rules: [{ claims: { project_id: '5' }, outcome: 'trusted' as const }],
    };
    expect(decideClaims(gitlab, { project_id: '5', ref_protected: 'false' }).outcome).toBe('refused');
    expect(decideClaims(gitlab, { project_id: '5', ref_protected: 'true' }).outcome).toBe('trusted');
  });

  it('derives scopes from placeholders, safely, and refuses a scope the token cannot fill', () => {
    const branch = github([{ claims: { repository_id: '101' }, outcome: 'isolated', scope: 'branch-{branch}' }]);
    expect(decideClaims(branch, claims({ ref: 'refs/heads/feature/a b' })).scope).toBe('branch-feature/a-b');
    expect(decideClaims(branch, claims({ ref: 'refs/pull/3/merge', head_ref: 'fix/x' })).scope).toBe('branch-fix/x');
    const run = github([{ claims: { repository_id: '101' }, outcome: 'isolated', scope: 'run-{run_id}' }]);
    expect(() => decideClaims(run, claims({}))).toThrow(expect.objectContaining({ code: 'ERR_CI_IDENTITY_REFUSED' }));
  });

  it('records the granting claims and a <repo>@<ref> line', () => {
    expect(grantOf('github', claims({ ref: 'refs/heads/main', run_id: '9', secret_thing: 'x' }))).toEqual({
      claims: { repository: 'acme/mono', repository_id: '101', ref: 'refs/heads/main', run_id: '9' },
      summary: 'acme/mono@refs/heads/main',
      label: 'GitHub Actions',
    });
  });
});

describe('storing', () => {
  const check = (body: Record<string, unknown>) =>
    checkNewPolicy(
      NewTrustPolicyBody.parse({ name: 'p', audience: 'https://cache', ...body }),
      control(false, ['https://gitlab.example.com', 'https://i.example']),
    );

  it("fills the preset's issuer and keys, and keeps the default lifetime", () => {
    expect(check({ provider: 'github', rules: [MAIN_RULE] })).toMatchObject({
      issuer: 'https://token.actions.githubusercontent.com',
      jwksUrl: 'https://token.actions.githubusercontent.com/.well-known/jwks',
      tokenLifetime: '1h',
    });
    const gitlab = check({
      provider: 'gitlab',
      issuer: 'https://gitlab.example.com/',
      rules: [{ claims: { project_id: '5' }, outcome: 'read-only' }],
    });
    expect(gitlab).toMatchObject({
      issuer: 'https://gitlab.example.com',
      jwksUrl: 'https://gitlab.example.com/oauth/discovery/keys',
    });
  });

  it.each([
    [
      'plain http',
      {
        provider: 'custom',
        issuer: 'http://127.0.0.1:1',
        jwksUrl: 'http://127.0.0.1:1/k',
        rules: [{ claims: { sub: 'x' }, outcome: 'read-only' }],
      },
    ],
    [
      'a custom issuer without keys',
      { provider: 'custom', issuer: 'https://i.example', rules: [{ claims: { sub: 'x' }, outcome: 'read-only' }] },
    ],
    [
      'a granting rule with no claims',
      {
        provider: 'custom',
        issuer: 'https://i.example',
        jwksUrl: 'https://i.example/k',
        rules: [{ claims: {}, outcome: 'read-only' }],
      },
    ],
    [
      'a GitLab trusted rule without ref_protected',
      { provider: 'gitlab', rules: [{ claims: { project_id: '5' }, outcome: 'trusted' }] },
    ],
    [
      'a repository id with a wildcard',
      { provider: 'github', rules: [{ claims: { repository_id: '1*' }, outcome: 'isolated' }] },
    ],
    ['a lifetime over 12h', { provider: 'github', tokenLifetime: '13h', rules: [MAIN_RULE] }],
  ])('refuses %s', (_what, body) => {
    expect(() => check(body)).toThrow(expect.objectContaining({ code: 'ERR_INPUT_INVALID' }));
  });

  it('keeps refused rules free of any requirement', () => {
    expect(check({ provider: 'github', rules: [{ claims: {}, outcome: 'refused' }] }).rules).toHaveLength(1);
  });

  it('allows http keys only from loopback addresses, and only when told', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(false);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(control(true).allowsScheme(new URL('http://127.0.0.1:9/k'))).toBe(true);
    expect(control(true).allowsScheme(new URL('http://169.254.169.254/k'))).toBe(false);
    expect(control(false).allowsScheme(new URL('http://127.0.0.1:9/k'))).toBe(false);
  });
});
