/**
 * CI identity (OIDC) attacks against the real server and a local issuer on loopback: forged, tampered,
 * unsigned and re-keyed identity tokens, headers that try to point the verifier at other keys, claims of
 * the wrong shape, and a token exchanged concurrently. Held: refused with an ERR_CI_IDENTITY_* code and
 * no cache token; no request ever reaches a URL the token names; exactly one of 20 concurrent exchanges of
 * one token succeeds.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { MAIN_PUSH as MAIN, type OidcIssuer, githubClaims, startOidcIssuer } from '../e2e/harness/oidc-issuer';
import { AreaRecord } from './support/area-record';
import {
  NO_LIMITS,
  adminApi,
  dataDirIn,
  startHardeningServer,
  supportedOptions,
  type HardeningServer,
} from './support/hardening-server';
import { createSandbox, type Sandbox } from './support/sandbox';
import { SeededRandom } from './support/seeded-random';

const record = new AreaRecord('CI identity (OIDC)', __filename);

let sandbox: Sandbox;
let ts: HardeningServer;
let issuer: OidcIssuer;
let lure: Server;
let lureUrl: string;
let lureHits = 0;
let audience: string;

beforeAll(async () => {
  sandbox = createSandbox('oidc');
  issuer = await startOidcIssuer(() => ts.clock.now.getTime());
  ts = await startHardeningServer(
    dataDirIn(sandbox.root),
    supportedOptions({ ...NO_LIMITS, ciIdentityHttpLoopback: true, ciIdentityIssuers: [issuer.url] }),
  );
  audience = ts.url;
  // Where a hostile header points: any request here means the verifier followed the token's word.
  lure = createServer((_req, res) => {
    lureHits += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [] }));
  });
  await new Promise<void>((resolve) => lure.listen(0, '127.0.0.1', resolve));
  lureUrl = `http://127.0.0.1:${(lure.address() as AddressInfo).port}`;
  await adminApi(ts.url, ts.adminToken, 'POST', `/workspaces/${ts.workspaceId}/trust-policies`, {
    name: 'github',
    provider: 'github',
    issuer: issuer.url,
    audience,
    rules: [
      { claims: { repository_id: '101', event_name: 'push', ref: 'refs/heads/main' }, outcome: 'trusted' },
      { claims: { repository_id: '101', event_name: 'pull_request' }, outcome: 'isolated' },
    ],
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => (lure ? lure.close(() => resolve()) : resolve()));
  await issuer?.stop();
  await ts?.stop();
  sandbox?.dispose();
  record.flush();
});

async function exchange(token: string): Promise<{ status: number; code?: string; token?: string }> {
  const res = await request(`${ts.url}/api/v1/ci-identity/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workspaceId: ts.workspaceId, token }),
  });
  const body = (await res.body.json()) as { error?: { code: string }; token?: string };
  return { status: res.statusCode, code: body.error?.code, token: body.token };
}

/** Held: a 4xx with a CI identity code (or input validation for what is not even a string of the right size), no token. */
async function refused(token: string): Promise<string | undefined> {
  const answer = await exchange(token);
  if (answer.token !== undefined) return `granted a token (${answer.status})`;
  if (answer.status < 400 || answer.status >= 500) return `answered ${answer.status}`;
  if (!/^ERR_CI_IDENTITY_|^ERR_INPUT_INVALID$/.test(answer.code ?? '')) return `answered code ${answer.code}`;
  return undefined;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (jwt: string): [string, string, string] => jwt.split('.') as [string, string, string];
const header = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(parts(jwt)[0], 'base64url').toString('utf8')) as Record<string, unknown>;
const payload = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(parts(jwt)[1], 'base64url').toString('utf8')) as Record<string, unknown>;

it('refuses forged, tampered, unsigned and re-keyed tokens', async () => {
  const since = record.failures.length;
  const random = new SeededRandom(record.seed);
  const good = () => issuer.github(MAIN, { audience });
  const claims = { ...githubClaims(MAIN), iss: issuer.url, aud: audience };
  const cases: [string, () => Promise<string> | string][] = [
    ['alg none, empty signature', () => issuer.algNone(claims, { audience })],
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, () => Promise<string>] => [
      `alg ${alg} keeping a real signature`,
      async () => {
        const [, body, sig] = parts(await good());
        return `${b64({ ...header(await good()), alg })}.${body}.${sig}`;
      },
    ]),
    ['HS256 keyed with the public key', () => issuer.hs256WithPublicKey(claims, { audience })],
    ...['HS384', 'HS512'].map((alg): [string, () => Promise<string>] => [
      `${alg} header on an RS256 signature`,
      async () => {
        const jwt = await good();
        const [, body, sig] = parts(jwt);
        return `${b64({ ...header(jwt), alg })}.${body}.${sig}`;
      },
    ]),
    ['a kid the issuer never published', () => issuer.github(MAIN, { audience, unknownKid: true })],
    ...['../../../../etc/passwd', "' or 1=1 --", '', 'x'.repeat(5000)].map((kid): [string, () => Promise<string>] => [
      `kid ${JSON.stringify(kid.slice(0, 20))}`,
      async () => {
        const jwt = await good();
        const [, body, sig] = parts(jwt);
        return `${b64({ ...header(jwt), kid })}.${body}.${sig}`;
      },
    ]),
    ...(['jku', 'x5u'] as const).map((field): [string, () => Promise<string>] => [
      `${field} pointing at another key set`,
      async () => {
        const jwt = await issuer.github(MAIN, { audience, unknownKid: true });
        const [, body, sig] = parts(jwt);
        return `${b64({ ...header(jwt), [field]: `${lureUrl}/keys` })}.${body}.${sig}`;
      },
    ]),
    [
      'an embedded jwk header',
      async () => {
        const jwt = await issuer.github(MAIN, { audience, unknownKid: true });
        const [, body, sig] = parts(jwt);
        return `${b64({ ...header(jwt), jwk: issuer.jwks().keys[0] })}.${body}.${sig}`;
      },
    ],
    [
      'a crit header this server does not know',
      async () => {
        const jwt = await good();
        const [, body, sig] = parts(jwt);
        return `${b64({ ...header(jwt), crit: ['exp'] })}.${body}.${sig}`;
      },
    ],
    ...['repository_id', 'ref', 'event_name', 'aud', 'iss', 'exp'].map((claim): [string, () => Promise<string>] => [
      `payload ${claim} changed, signature kept`,
      async () => {
        const jwt = await issuer.github({ ...MAIN, event: 'pull_request', ref: 'refs/pull/1/merge' }, { audience });
        const [head, , sig] = parts(jwt);
        const changed: Record<string, unknown> = {
          ...payload(jwt),
          repository_id: '101',
          ref: 'refs/heads/main',
          event_name: 'push',
        };
        if (claim === 'aud') changed.aud = [audience, 'other'];
        if (claim === 'iss') changed.iss = `${issuer.url}/`;
        if (claim === 'exp') changed.exp = Number(changed.exp) + 86_400;
        return `${head}.${b64(changed)}.${sig}`;
      },
    ]),
    [
      'a flipped signature byte',
      async () => {
        const [head, body, sig] = parts(await good());
        const bytes = Buffer.from(sig, 'base64url');
        bytes[random.int(0, bytes.length - 1)] ^= 1 << random.int(0, 7);
        return `${head}.${body}.${bytes.toString('base64url')}`;
      },
    ],
    [
      'a truncated signature',
      async () => {
        const [head, body, sig] = parts(await good());
        return `${head}.${body}.${sig.slice(0, sig.length - 1 - random.int(0, 20))}`;
      },
    ],
    [
      'two parts',
      async () =>
        parts(await good())
          .slice(0, 2)
          .join('.'),
    ],
    ['four parts', async () => `${await good()}.extra`],
    ['JWE-shaped (five parts)', () => 'a.b.c.d.e'],
    ['not base64 in the header', async () => `%%%.${parts(await good())[1]}.x`],
    ['a JSON array payload', async () => `${parts(await good())[0]}.${b64([1, 2])}.x`],
    ['longer than 16 KiB', async () => `${await good()}${'A'.repeat(17 * 1024)}`],
    ['expired beyond the skew', () => issuer.github(MAIN, { audience, issuedAt: -600, expiresIn: -61 })],
    ['not valid for another two minutes', () => issuer.github(MAIN, { audience, issuedAt: 120, expiresIn: 600 })],
    ['no jti', async () => issuer.mint({ ...githubClaims(MAIN) }, { audience, jti: '' })],
    ['a 300-character jti', async () => issuer.mint({ ...githubClaims(MAIN) }, { audience, jti: 'j'.repeat(300) })],
    [
      'no sub',
      async () => {
        const { sub: _sub, ...rest } = githubClaims(MAIN);
        return issuer.mint(rest, { audience });
      },
    ],
    [
      'repository_id with a trailing space',
      () => issuer.mint({ ...githubClaims(MAIN), repository_id: '101 ' }, { audience }),
    ],
    [
      'repository_id as a list',
      // A claim shape the harness's Claims type does not allow, signed all the same.
      () => issuer.mint({ ...githubClaims(MAIN), repository_id: ['101', '202'] as unknown as string }, { audience }),
    ],
    ['pull_request_target naming main', () => issuer.github({ ...MAIN, event: 'pull_request_target' }, { audience })],
    ['a pull request ref with a push event', () => issuer.github({ ...MAIN, ref: 'refs/pull/3/merge' }, { audience })],
    [
      'another issuer claiming the same repository',
      () => issuer.github(MAIN, { audience, issuer: 'https://token.actions.githubusercontent.com' }),
    ],
  ];

  for (const [name, make] of cases) await record.check(name, async () => refused(await make()));
  await record.check('no request followed a header URL', () =>
    lureHits === 0 ? undefined : `${lureHits} requests to the lure`,
  );
  expect(record.describeFailures(since)).toEqual([]);
});

it('grants exactly one of 20 concurrent exchanges of one token', async () => {
  const since = record.failures.length;
  const jwt = await issuer.github(MAIN, { audience });
  const answers = await Promise.all(Array.from({ length: 20 }, () => exchange(jwt)));
  await record.check('one grant, 19 replays', () => {
    const granted = answers.filter((a) => a.token !== undefined).length;
    const replays = answers.filter((a) => a.code === 'ERR_CI_IDENTITY_REPLAYED').length;
    return granted === 1 && replays === 19 ? undefined : `${granted} granted, ${replays} replays`;
  });
  expect(record.describeFailures(since)).toEqual([]);
});

it('a granted pull request token never reaches the shared tier', async () => {
  const since = record.failures.length;
  const jwt = await issuer.github({ ...MAIN, ref: 'refs/pull/5/merge', event: 'pull_request' }, { audience });
  const answer = await exchange(jwt);
  await record.check('the pull request token is isolated in pr-5', async () => {
    if (answer.token === undefined) return `not granted (${answer.code})`;
    const res = await request(`${ts.url}/v1/access`, { headers: { authorization: `Bearer ${answer.token}` } });
    const access = (await res.body.json()) as { tier?: string; namespace?: string };
    return access.tier === 'isolated' && access.namespace === 'scope pr-5' ? undefined : JSON.stringify(access);
  });
  await record.check('it cannot mint a wider token', async () => {
    const res = await request(`${ts.url}/api/v1/tokens/mint`, {
      method: 'POST',
      headers: { authorization: `Bearer ${answer.token ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'shared' }),
    });
    await res.body.dump();
    return res.statusCode === 403 ? undefined : `mint answered ${res.statusCode}`;
  });
  expect(record.describeFailures(since)).toEqual([]);
});

it('an organisation admin cannot make the server fetch from an issuer the server admin did not list', async () => {
  const since = record.failures.length;
  const hitsBefore = lureHits;
  const targets: [string, Record<string, unknown>][] = [
    ['a custom issuer on an internal address', { provider: 'custom', issuer: lureUrl, jwksUrl: `${lureUrl}/keys` }],
    ['GitHub Enterprise on an internal address', { provider: 'github', issuer: `${lureUrl}/_services/token` }],
    ['GitLab self-managed on an internal address', { provider: 'gitlab', issuer: lureUrl }],
  ];
  for (const [name, body] of targets)
    await record.check(`${name} is refused`, async () => {
      const res = await request(`${ts.url}/api/v1/workspaces/${ts.workspaceId}/trust-policies`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ts.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'lure',
          audience,
          rules: [{ claims: { repository_id: '101', project_id: '1' }, outcome: 'read-only' }],
          ...body,
        }),
      });
      const answer = (await res.body.json()) as { error?: { code: string } };
      const code = answer.error?.code;
      return res.statusCode === 403 && code === 'ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED'
        ? undefined
        : `answered ${res.statusCode} ${code ?? ''}`;
    });
  await record.check('the lure was never asked', () =>
    lureHits === hitsBefore ? undefined : `${lureHits - hitsBefore} requests to the lure`,
  );
  expect(record.describeFailures(since)).toEqual([]);
});
