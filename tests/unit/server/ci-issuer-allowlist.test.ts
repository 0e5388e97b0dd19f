/**
 * The server admin's control over which CI identity issuers the server fetches keys from (SSRF): the public
 * presets pass, any other issuer must be listed (or bring its keys), and the fetcher itself asks only
 * allowed origins, follows no redirect and bounds the answer's size and the whole fetch's time.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveServeConfig } from '../../../src/server/config/config-file';
import { issuerControl } from '../../../src/server/ci-identity/issuer-allowlist';
import { httpJwksFetcher } from '../../../src/server/ci-identity/jwks-cache';
import { checkNewPolicy, NewTrustPolicyBody } from '../../../src/server/ci-identity/trust-policy';

const RULE = { claims: { repository_id: '101' }, outcome: 'read-only' as const };
const KEYS = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k' }] };
const closed = issuerControl({ ciIdentityIssuers: [], ciIdentityHttpLoopback: false });
const store = (body: Record<string, unknown>, issuers = closed) =>
  checkNewPolicy(NewTrustPolicyBody.parse({ name: 'p', audience: 'https://cache', rules: [RULE], ...body }), issuers);

describe('which issuers a trust policy may name', () => {
  it('allows the GitHub Actions and GitLab.com presets on every server', () => {
    expect(store({ provider: 'github' }).issuer).toBe('https://token.actions.githubusercontent.com');
    expect(store({ provider: 'gitlab', rules: [{ claims: { project_id: '5' }, outcome: 'read-only' }] }).jwksUrl).toBe(
      'https://gitlab.com/oauth/discovery/keys',
    );
  });

  it.each([
    ['GitHub Enterprise Server', { provider: 'github', issuer: 'https://ghes.example.com/_services/token' }],
    [
      'an internal address',
      { provider: 'custom', issuer: 'https://169.254.169.254', jwksUrl: 'https://169.254.169.254/latest' },
    ],
    [
      'a look-alike of a preset',
      { provider: 'github', issuer: 'https://token.actions.githubusercontent.com.evil.example' },
    ],
  ])('refuses %s that the server admin did not list, with its own code', (_what, body) => {
    expect(() => store(body)).toThrow(
      expect.objectContaining({
        code: 'ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED',
        message: expect.stringContaining('--ci-identity-issuers'),
      }),
    );
  });

  it('accepts an issuer the server admin listed, and its keys only on its origin', () => {
    const listed = issuerControl({
      ciIdentityIssuers: ['https://ghes.example.com/_services/token/'],
      ciIdentityHttpLoopback: false,
    });
    expect(store({ provider: 'github', issuer: 'https://ghes.example.com/_services/token' }, listed)).toMatchObject({
      issuer: 'https://ghes.example.com/_services/token',
      jwksUrl: 'https://ghes.example.com/_services/token/.well-known/jwks',
    });
    expect(listed.allowsFetch(new URL('https://ghes.example.com/_services/token/.well-known/jwks'))).toBe(true);
    expect(listed.allowsFetch(new URL('https://other.example.com/.well-known/jwks'))).toBe(false);
    expect(listed.allowsFetch(new URL('https://user:pw@ghes.example.com/k'))).toBe(false);
    expect(listed.allowsFetch(new URL('http://ghes.example.com/k'))).toBe(false);
  });

  it('needs no listing when the policy carries the keys (air-gapped): nothing is fetched', () => {
    const policy = store({ provider: 'custom', issuer: 'https://gitlab.internal', jwks: KEYS });
    expect(policy).toMatchObject({ issuer: 'https://gitlab.internal', jwksUrl: null });
  });

  it('allows plain http only for a listed loopback issuer, and only with --ci-identity-http-loopback', () => {
    const body = { provider: 'custom', issuer: 'http://127.0.0.1:9', jwksUrl: 'http://127.0.0.1:9/k' };
    const listedOnly = issuerControl({ ciIdentityIssuers: ['http://127.0.0.1:9'], ciIdentityHttpLoopback: false });
    expect(() => store(body, listedOnly)).toThrow(expect.objectContaining({ code: 'ERR_INPUT_INVALID' }));
    const loopbackOnly = issuerControl({ ciIdentityIssuers: [], ciIdentityHttpLoopback: true });
    expect(() => store(body, loopbackOnly)).toThrow(
      expect.objectContaining({ code: 'ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED' }),
    );
    const both = issuerControl({ ciIdentityIssuers: ['http://127.0.0.1:9'], ciIdentityHttpLoopback: true });
    expect(store(body, both).jwksUrl).toBe('http://127.0.0.1:9/k');
    expect(both.allowsFetch(new URL('http://127.0.0.1:10/k'))).toBe(false);
  });
});

describe('--ci-identity-issuers', () => {
  const resolve = (flags: Record<string, string>, env: Record<string, string> = {}) =>
    resolveServeConfig({ flags, env });

  it('reads a comma-separated list from the flag or the env var', () => {
    expect(resolve({ ciIdentityIssuers: 'https://a.example, https://b.example/x' }).ciIdentityIssuers).toEqual([
      'https://a.example',
      'https://b.example/x',
    ]);
    expect(resolve({}, { NX_SEALED_CACHE_SERVER_CI_IDENTITY_ISSUERS: 'https://c.example' }).ciIdentityIssuers).toEqual([
      'https://c.example',
    ]);
    expect(resolve({}).ciIdentityIssuers).toEqual([]);
  });

  it.each([
    ['plain http off loopback', 'http://10.0.0.1'],
    ['not a URL', 'gitlab.internal'],
    ['a URL with credentials', 'https://u:p@gitlab.internal'],
  ])('refuses %s, naming the flag', (_what, value) => {
    expect(() => resolve({ ciIdentityIssuers: value })).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringContaining('flag --ci-identity-issuers (ciIdentityIssuers)'),
      }),
    );
  });
});

describe('the JWKS fetcher', () => {
  let server: Server;
  let base: string;
  const asked: string[] = [];
  const jwks = JSON.stringify(KEYS);

  beforeAll(async () => {
    server = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/keys') res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      else if (req.url === '/redirect') res.writeHead(302, { location: `http://127.0.0.2:${port()}/keys` }).end();
      else if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"keys":[${'{"kty":"EC"},'.repeat(30_000)}{}]}`);
      } else if (req.url === '/drip') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const timer = setInterval(() => res.write(' '), 20);
        res.on('close', () => clearInterval(timer));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${port()}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = () => (server.address() as AddressInfo).port;
  const fetcher = () =>
    httpJwksFetcher(issuerControl({ ciIdentityIssuers: [base], ciIdentityHttpLoopback: true }).allowsFetch, {
      timeoutMs: 400,
    });
  const failure = (path: string) =>
    fetcher()(new URL(`${base}${path}`)).then(
      () => 'fetched',
      (err: { code: string; message: string }) => `${err.code}: ${err.message}`,
    );

  it("fetches an allowed issuer's keys", async () => {
    await expect(fetcher()(new URL(`${base}/keys`))).resolves.toEqual(KEYS);
  });

  it('asks nothing of an origin no allowed issuer has', async () => {
    asked.length = 0;
    const other = fetcher()(new URL(`http://127.0.0.2:${port()}/keys`));
    await expect(other).rejects.toMatchObject({
      code: 'ERR_CI_IDENTITY_KEYS_UNAVAILABLE',
      message: expect.stringContaining('refusing to fetch keys from http://127.0.0.2'),
    });
    expect(asked).toEqual([]);
  });

  it('follows no redirect', async () => {
    asked.length = 0;
    expect(await failure('/redirect')).toMatch(
      /^ERR_CI_IDENTITY_KEYS_UNAVAILABLE: .*answered 302 \(redirects are not followed\)/,
    );
    expect(asked).toEqual(['/redirect']);
  });

  it('stops reading past 256 KiB', async () => {
    expect(await failure('/huge')).toMatch(/^ERR_CI_IDENTITY_KEYS_UNAVAILABLE: .*sent more than 256 KiB of keys/);
  });

  it('ends a fetch whose body keeps dripping, though each byte comes in time', async () => {
    expect(await failure('/drip')).toMatch(/^ERR_CI_IDENTITY_KEYS_UNAVAILABLE: cannot fetch the issuer's keys/);
  });
});
