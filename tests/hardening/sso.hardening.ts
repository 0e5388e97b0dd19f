/**
 * SSO for people, attacked: the real server in-process and two real OpenID providers (`oidc-provider`,
 * tests/e2e/sso/oidc-test-provider.mjs) on loopback, the authorization-code flow driven over plain HTTP
 * with a cookie jar per browser, so every step can be replayed, moved to another browser or altered.
 * Tried: callbacks replayed, without the attempt's cookie, with another browser's, with the state, code
 * or `iss` altered or removed, an error answer, a callback of one provider at another's path; ID tokens
 * swapped in at the token endpoint (another issuer, another client, an earlier sign-in's, alg none,
 * HS256 keyed with the client secret, a changed payload under a kept signature, an attacker's key with
 * and without an embedded `jwk`, a truncated signature); hostile return-to paths; a person deprovisioned
 * over SCIM; SCIM calls with wrong credentials, another provider's token, hostile bodies, filters and ids.
 * Held: refused with a 4xx and a stable code, no session cookie, no account made or changed, every
 * redirect stays on the server or the provider, and SCIM state is unchanged.
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { request } from 'undici';
import { SESSION_COOKIE } from '../../src/server/auth/sessions';
import { bootstrapWorkspace, createToken, freePort, startServer, type RunningServer } from '../e2e/harness';
import { startTestProvider, type TestProvider } from '../e2e/sso/oidc-provider';
import { AreaRecord } from './support/area-record';
import { adminApi } from './support/hardening-server';
import { createSandbox, type Sandbox } from './support/sandbox';

const record = new AreaRecord('SSO (people)', __filename);

const CLIENT_ID = 'nx-sealed-cache';
const CLIENT_SECRET = 'hardening-client-secret-0c4e8a2f6b';
const SCIM_CORP = 'scim-token-of-corp-for-the-hardening-suite-7d1f3b5a';
const SCIM_OTHER = 'scim-token-of-other-for-the-hardening-suite-2e6a9c4d';
const ENV = {
  NXSC_HARDENING_OIDC_SECRET: CLIENT_SECRET,
  NXSC_HARDENING_SCIM_CORP: SCIM_CORP,
  NXSC_HARDENING_SCIM_OTHER: SCIM_OTHER,
};
const ACCOUNTS = {
  'alice-sub': { email: 'alice@acme.test', email_verified: true, name: 'Alice' },
  'mallory-sub': { email: 'mallory@acme.test', email_verified: true, name: 'Mallory' },
  'dora-sub': { email: 'dora@acme.test', email_verified: true, name: 'Dora' },
};
const SCIM_JSON = 'application/scim+json';

let sandbox: Sandbox;
/** The real server process (openid-client is an ES module, which the in-process server under jest cannot load). */
let ts: { url: string; adminToken: string; writeToken: string; server: RunningServer };
let idp: TestProvider;
let otherIdp: TestProvider;

/** A browser's cookies, by name; like a browser, it ignores the port, so server and provider share it. */
class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  take(setCookie: string | string[] | undefined): string[] {
    const names: string[] = [];
    for (const line of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
      const gone = value === '' || attributes.some((a) => /^max-age=0$/i.test(a) || /^expires=.*1970/i.test(a));
      if (gone) this.cookies.delete(name);
      else {
        this.cookies.set(name, { value, path });
        names.push(name);
      }
    }
    return names;
  }

  header(path: string): string {
    return [...this.cookies]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  has(name: string): boolean {
    return this.cookies.has(name);
  }
}

interface Answer {
  status: number;
  location?: string;
  body: string;
  /** Cookies this answer set (not the ones it cleared). */
  set: string[];
}

async function get(url: string, jar: CookieJar): Promise<Answer> {
  const cookie = jar.header(new URL(url).pathname);
  const response = await request(url, { headers: cookie ? { cookie } : {} });
  const location = response.headers.location;
  return {
    status: response.statusCode,
    location: typeof location === 'string' ? new URL(location, url).href : undefined,
    body: await response.body.text(),
    set: jar.take(response.headers['set-cookie']),
  };
}

interface Flow {
  /** Where the provider sent the browser back, not yet visited. */
  callback: string;
  /** The nonce the server put in its authorization request. */
  nonce: string;
  /** Every URL a redirect pointed at, the start link's first. */
  hops: string[];
}

/** Follows the sign-in from the server's start link through the provider, up to (not into) the callback. */
async function startFlow(jar: CookieJar, account: string, next = '/ui/tokens', providerId = 'corp'): Promise<Flow> {
  await (providerId === 'corp' ? idp : otherIdp).signInAs(account);
  let url = `${ts.url}/ui/sign-in/sso/${providerId}?next=${encodeURIComponent(next)}`;
  const hops: string[] = [];
  let nonce = '';
  for (let hop = 0; hop < 20; hop++) {
    const answer = await get(url, jar);
    if (answer.location === undefined)
      throw new Error(`${url} answered ${answer.status} without a redirect: ${pageText(answer.body)}`);
    hops.push(answer.location);
    const location = new URL(answer.location);
    if (hop === 0) nonce = location.searchParams.get('nonce') ?? '';
    if (location.pathname.startsWith(`/ui/sign-in/sso/`) && location.pathname.endsWith('/callback'))
      return { callback: answer.location, nonce, hops };
    url = answer.location;
  }
  throw new Error('more than 20 redirects');
}

/** A page's text without markup, for failure messages. */
const pageText = (html: string): string =>
  html
    .replace(/<(script|style)[^]*?<\/\1>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .slice(0, 300);

/** Visits a callback URL. Signed in means the answer set the session cookie. */
async function deliver(callback: string, jar: CookieJar): Promise<{ status: number; signedIn: boolean; body: string }> {
  const answer = await get(callback, jar);
  return { status: answer.status, signedIn: answer.set.includes(SESSION_COOKIE), body: answer.body };
}

/** Held: a 4xx page and no session. */
function refusal(answer: { status: number; signedIn: boolean }): string | undefined {
  if (answer.signedIn) return `signed in (${answer.status})`;
  if (answer.status < 400 || answer.status >= 500) return `answered ${answer.status}`;
  return undefined;
}

/** Runs the provider's own flow for `clientId` (its test redirect redeems the code), then returns that ID token. */
async function mintIdToken(provider: TestProvider, clientId: string, account: string): Promise<string> {
  await provider.signInAs(account);
  const jar = new CookieJar();
  let url = provider.mintUrl(clientId);
  for (let hop = 0; hop < 20; hop++) {
    const answer = await get(url, jar);
    if (answer.location === undefined) {
      if (!answer.body.startsWith('minted')) throw new Error(`minting failed: ${answer.body.slice(0, 200)}`);
      const token = await provider.lastIdToken(clientId);
      if (token === null) throw new Error('no ID token minted');
      return token;
    }
    url = answer.location;
  }
  throw new Error('more than 20 redirects while minting');
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwtParts = (jwt: string): [string, string, string] => jwt.split('.') as [string, string, string];
const decode = (part: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

async function userNames(): Promise<string[]> {
  return (await adminApi<{ name: string }[]>(ts.url, ts.adminToken, 'GET', '/users')).map((u) => u.name);
}

async function scim(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: { token?: string; authorization?: string; body?: string; contentType?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> | undefined; contentType: string }> {
  const authorization = options.authorization ?? (options.token === undefined ? undefined : `Bearer ${options.token}`);
  const response = await request(`${ts.url}/scim/v2${path}`, {
    method,
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      ...(options.body === undefined ? {} : { 'content-type': options.contentType ?? SCIM_JSON }),
    },
    body: options.body,
  });
  const text = await response.body.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, json, contentType: String(response.headers['content-type'] ?? '') };
}

/** Every SCIM user a provider's token can see, as a stable string to compare before and after. */
async function scimState(token: string): Promise<string> {
  const answer = await scim('GET', '/Users?count=200', { token });
  return JSON.stringify(answer.json?.Resources ?? null);
}

beforeAll(async () => {
  sandbox = createSandbox('sso');
  const port = await freePort();
  const clients = (redirect: string) => [
    { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirect] },
    { client_id: 'another-app', client_secret: 'another-app-secret-value', redirect_uris: [] },
  ];
  idp = await startTestProvider({
    clients: clients(`http://127.0.0.1:${port}/ui/sign-in/sso/corp/callback`),
    accounts: ACCOUNTS,
  });
  otherIdp = await startTestProvider({
    clients: clients(`http://127.0.0.1:${port}/ui/sign-in/sso/other/callback`),
    accounts: ACCOUNTS,
  });
  const ssoConfig = join(sandbox.root, 'sso.json');
  const provider = (id: string, issuer: string, scimEnv: string) => ({
    id,
    displayName: id,
    issuer,
    clientId: CLIENT_ID,
    clientSecretEnv: 'NXSC_HARDENING_OIDC_SECRET',
    scim: { tokenEnv: scimEnv },
  });
  writeFileSync(
    ssoConfig,
    JSON.stringify({
      publicUrl: `http://127.0.0.1:${port}`,
      providers: [
        provider('corp', idp.issuer, 'NXSC_HARDENING_SCIM_CORP'),
        provider('other', otherIdp.issuer, 'NXSC_HARDENING_SCIM_OTHER'),
      ],
    }),
  );
  const server = await startServer({ port, args: ['--sso-config', ssoConfig], env: ENV });
  const boot = await bootstrapWorkspace(server, { orgName: 'acme', workspaceName: 'main' });
  const write = await createToken(boot.target, { kind: 'ci', workspace: boot.workspace.id, access: 'read-write' });
  ts = { url: server.url, adminToken: boot.target.token, writeToken: write.token, server };
  await adminApi(ts.url, ts.adminToken, 'PUT', '/orgs/acme/sign-in-policy', {
    requiredProvider: null,
    joinDomains: [{ domain: 'acme.test', role: 'member' }],
  });
});

afterAll(async () => {
  await ts?.server.dispose();
  await idp?.stop();
  await otherIdp?.stop();
  sandbox?.dispose();
  record.flush();
});

it('signs in through the provider at all (the baseline every refusal below is measured against)', async () => {
  const jar = new CookieJar();
  const flow = await startFlow(jar, 'alice-sub');
  const answer = await deliver(flow.callback, jar);
  expect(answer).toMatchObject({ status: 200, signedIn: true });
  expect(await userNames()).toContain('alice');
});

it('refuses replayed, moved and altered callbacks, without a session or an account', async () => {
  const since = record.failures.length;
  const altered = (callback: string, change: (params: URLSearchParams) => void, path?: string): string => {
    const url = new URL(callback);
    change(url.searchParams);
    if (path !== undefined) url.pathname = path;
    return url.href;
  };
  const flip = (text: string): string => `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;
  const cases: [string, (flow: Flow, jar: CookieJar) => Promise<{ status: number; signedIn: boolean }>, string?][] = [
    [
      'the same callback twice (the second is held)',
      async (flow, jar) => {
        const first = await deliver(flow.callback, jar);
        if (!first.signedIn) throw new Error(`the first delivery did not sign in (${first.status})`);
        return deliver(flow.callback, jar);
      },
      // The first delivery is a genuine sign-in; only the replay is the attack.
      'alice-sub',
    ],
    ['the callback in a browser without the attempt cookie', (flow) => deliver(flow.callback, new CookieJar())],
    [
      'the callback in another browser, which started its own attempt (login CSRF)',
      async (flow) => {
        const victim = new CookieJar();
        await startFlow(victim, 'alice-sub');
        return deliver(flow.callback, victim);
      },
    ],
    [
      'state altered',
      (flow, jar) =>
        deliver(
          altered(flow.callback, (p) => p.set('state', flip(p.get('state')!))),
          jar,
        ),
    ],
    [
      'state removed',
      (flow, jar) =>
        deliver(
          altered(flow.callback, (p) => p.delete('state')),
          jar,
        ),
    ],
    [
      'state twice, a wrong one first',
      (flow, jar) => {
        const url = new URL(flow.callback);
        const state = url.searchParams.get('state')!;
        url.searchParams.delete('state');
        url.search = `state=${flip(state)}&${url.searchParams.toString()}&state=${state}`;
        return deliver(url.href, jar);
      },
    ],
    [
      'code altered',
      (flow, jar) =>
        deliver(
          altered(flow.callback, (p) => p.set('code', flip(p.get('code')!))),
          jar,
        ),
    ],
    [
      'code removed',
      (flow, jar) =>
        deliver(
          altered(flow.callback, (p) => p.delete('code')),
          jar,
        ),
    ],
    [
      'iss of another issuer',
      (flow, jar) =>
        deliver(
          altered(flow.callback, (p) => p.set('iss', otherIdp.issuer)),
          jar,
        ),
    ],
    [
      'iss removed',
      (flow, jar) =>
        deliver(
          altered(flow.callback, (p) => p.delete('iss')),
          jar,
        ),
    ],
    [
      'an error answer with the right state',
      (flow, jar) =>
        deliver(
          altered(flow.callback, (p) => {
            p.delete('code');
            p.set('error', 'access_denied');
          }),
          jar,
        ),
    ],
    [
      "corp's callback at the other provider's path",
      (flow, jar) =>
        deliver(
          altered(flow.callback, () => undefined, '/ui/sign-in/sso/other/callback'),
          jar,
        ),
    ],
    [
      "corp's callback at a provider that does not exist",
      (flow, jar) =>
        deliver(
          altered(flow.callback, () => undefined, '/ui/sign-in/sso/nobody/callback'),
          jar,
        ),
    ],
  ];
  for (const [name, attack, account = 'mallory-sub'] of cases) {
    await record.check(`callback: ${name}`, async () => {
      const jar = new CookieJar();
      const flow = await startFlow(jar, account);
      return refusal(await attack(flow, jar));
    });
  }
  await record.check('no account was made for the attacker by any of them', async () =>
    (await userNames()).includes('mallory') ? 'an account named mallory exists' : undefined,
  );
  expect(record.describeFailures(since)).toEqual([]);
});

it('refuses ID tokens swapped in at the token endpoint', async () => {
  const since = record.failures.length;
  const attacker = await generateKeyPair('RS256');
  const attackerJwk = await exportJWK(attacker.publicKey);
  const earlier = await mintIdToken(idp, CLIENT_ID, 'mallory-sub');
  const issuerKid = decode(jwtParts(earlier)[0]).kid as string;
  /** The claims the provider would sign for this very attempt: only the signature can be wrong. */
  const claimsFor = (flow: Flow): Record<string, unknown> => ({
    ...decode(jwtParts(earlier)[1]),
    nonce: flow.nonce,
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 300,
  });
  const cases: [string, (flow: Flow) => Promise<string> | string][] = [
    ['from another issuer (same client id)', () => mintIdToken(otherIdp, CLIENT_ID, 'mallory-sub')],
    ['issued to another client (wrong audience)', () => mintIdToken(idp, 'another-app', 'mallory-sub')],
    ["an earlier sign-in's (its nonce)", () => earlier],
    ['alg none, empty signature', (flow) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsFor(flow))}.`],
    [
      'alg none keeping a real signature',
      (flow) => `${b64({ alg: 'none' })}.${b64(claimsFor(flow))}.${jwtParts(earlier)[2]}`,
    ],
    [
      'HS256 keyed with the client secret',
      (flow) => {
        const signingInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claimsFor(flow))}`;
        return `${signingInput}.${createHmac('sha256', CLIENT_SECRET).update(signingInput).digest('base64url')}`;
      },
    ],
    [
      "this attempt's claims under an earlier token's signature",
      (flow) => `${jwtParts(earlier)[0]}.${b64(claimsFor(flow))}.${jwtParts(earlier)[2]}`,
    ],
    [
      'signed by an attacker key, under the issuer key id',
      (flow) =>
        new SignJWT(claimsFor(flow)).setProtectedHeader({ alg: 'RS256', kid: issuerKid }).sign(attacker.privateKey),
    ],
    [
      'signed by an attacker key embedded as jwk',
      (flow) =>
        new SignJWT(claimsFor(flow)).setProtectedHeader({ alg: 'RS256', jwk: attackerJwk }).sign(attacker.privateKey),
    ],
    [
      'a real token with its signature truncated',
      async () => {
        const [head, body, signature] = jwtParts(await mintIdToken(idp, CLIENT_ID, 'mallory-sub'));
        return `${head}.${body}.${signature.slice(0, -8)}`;
      },
    ],
  ];
  for (const [name, forge] of cases) {
    await record.check(`ID token: ${name}`, async () => {
      const jar = new CookieJar();
      const flow = await startFlow(jar, 'mallory-sub');
      await idp.swapNextIdToken(await forge(flow));
      return refusal(await deliver(flow.callback, jar));
    });
  }
  await record.check('no account was made for the attacker by any forged token', async () =>
    (await userNames()).includes('mallory') ? 'an account named mallory exists' : undefined,
  );
  expect(record.describeFailures(since)).toEqual([]);
});

it('keeps every return-to path on the server, and every redirect on the server or the provider', async () => {
  const since = record.failures.length;
  const origins = new Set([new URL(ts.url).origin, new URL(idp.issuer).origin]);
  const hostile = [
    'https://evil.test/ui/tokens',
    '//evil.test/ui/tokens',
    '/\\evil.test',
    '\\\\evil.test',
    '/%2F%2Fevil.test',
    '/ui/..//evil.test',
    ' //evil.test',
    '\t//evil.test',
    'http:evil.test',
    '/\t/evil.test',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '/ui/tokens\r\nLocation: https://evil.test',
    '/ui/"><script>alert(1)</script>',
    `/ui/${'a'.repeat(5000)}`,
  ];
  for (const next of hostile) {
    await record.check(`next ${JSON.stringify(next.slice(0, 40))}`, async () => {
      const jar = new CookieJar();
      const flow = await startFlow(jar, 'alice-sub', next);
      const away = flow.hops.find((hop) => !origins.has(new URL(hop).origin));
      if (away !== undefined) return `redirected to ${away}`;
      const answer = await deliver(flow.callback, jar);
      if (!answer.signedIn) return `the sign-in itself failed (${answer.status})`;
      const targets = [
        ...answer.body.matchAll(/content="0;url=([^"]*)"/g),
        ...answer.body.matchAll(/class="button primary" href="([^"]*)"/g),
      ].map((m) => (m[1] ?? '').replace(/&amp;/g, '&').replace(/&#x2F;|&#47;/g, '/'));
      if (targets.length !== 2) return `the continue page has ${targets.length} targets`;
      for (const target of targets) {
        if (!target.startsWith('/') || target.startsWith('//') || target.includes('\\'))
          return `continue target ${JSON.stringify(target.slice(0, 60))}`;
        if (new URL(target, ts.url).origin !== new URL(ts.url).origin) return `continue target leaves: ${target}`;
      }
      if (/<script>/i.test(answer.body)) return 'the page carries the injected script';
      return undefined;
    });
  }
  expect(record.describeFailures(since)).toEqual([]);
});

it('refuses the sign-in of a person deprovisioned over SCIM; another provider cannot bring them back', async () => {
  const since = record.failures.length;
  const created = await scim('POST', '/Users', {
    token: SCIM_CORP,
    body: JSON.stringify({ userName: 'dora@acme.test', externalId: 'dora-sub', active: true }),
  });
  expect(created.status).toBe(201);
  const id = String(created.json?.id);
  const deactivated = await scim('PATCH', `/Users/${id}`, {
    token: SCIM_CORP,
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    }),
  });
  expect(deactivated.json?.active).toBe(false);
  const signInDora = async (): Promise<string | undefined> => {
    const jar = new CookieJar();
    const flow = await startFlow(jar, 'dora-sub');
    const answer = await deliver(flow.callback, jar);
    return refusal(answer) ?? (answer.status === 403 ? undefined : `answered ${answer.status}, not 403`);
  };
  await record.check('sign-in of a deactivated person', signInDora);
  for (const [name, method, body] of [
    [
      'PATCH active=true',
      'PATCH',
      {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', value: { active: true } }],
      },
    ],
    ['PUT active=true', 'PUT', { userName: 'dora@acme.test', externalId: 'dora-sub', active: true }],
  ] as const) {
    await record.check(`the other provider's SCIM token: ${name} on corp's user`, async () => {
      const answer = await scim(method, `/Users/${id}`, { token: SCIM_OTHER, body: JSON.stringify(body) });
      if (answer.status !== 404) return `answered ${answer.status}`;
      return signInDora();
    });
  }
  await record.check("the other provider's SCIM token does not list or find corp's user", async () => {
    const listed = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "dora@acme.test"')}`, {
      token: SCIM_OTHER,
    });
    if (listed.json?.totalResults !== 0) return `listed ${String(listed.json?.totalResults)}`;
    const found = await scim('GET', `/Users/${id}`, { token: SCIM_OTHER });
    return found.status === 404 ? undefined : `GET answered ${found.status}`;
  });
  await record.check("the other provider's SCIM token cannot delete corp's user", async () => {
    const answer = await scim('DELETE', `/Users/${id}`, { token: SCIM_OTHER });
    if (answer.status !== 404) return `answered ${answer.status}`;
    return (await scim('GET', `/Users/${id}`, { token: SCIM_CORP })).status === 200 ? undefined : 'the user is gone';
  });
  expect(record.describeFailures(since)).toEqual([]);
});

it('refuses SCIM calls with a wrong credential, hostile bodies, filters and ids, and changes nothing', async () => {
  const since = record.failures.length;
  const before = await scimState(SCIM_CORP);
  const userCount = (await userNames()).length;
  const credentials: [string, string | undefined][] = [
    ['no authorization', undefined],
    ['a wrong token of the same length', `Bearer ${SCIM_CORP.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))}`],
    ['a prefix of the token', `Bearer ${SCIM_CORP.slice(0, -1)}`],
    ['the token with a suffix', `Bearer ${SCIM_CORP}x`],
    ['the server admin token', `Bearer ${ts.adminToken}`],
    ['a CI token', `Bearer ${ts.writeToken}`],
    ['the token as Basic credentials', `Basic ${Buffer.from(`scim:${SCIM_CORP}`).toString('base64')}`],
    ['the client secret', `Bearer ${CLIENT_SECRET}`],
    ['an empty bearer', 'Bearer '],
    ['a 10 KiB bearer', `Bearer ${'a'.repeat(10_240)}`],
  ];
  for (const [name, authorization] of credentials) {
    await record.check(`SCIM credential: ${name}`, async () => {
      const answer = await scim('POST', '/Users', {
        authorization,
        body: JSON.stringify({ userName: 'eve@acme.test', externalId: 'eve-sub' }),
      });
      if (answer.status !== 401) return `answered ${answer.status}`;
      if (!String(answer.json?.detail ?? '').startsWith('ERR_SCIM_UNAUTHORIZED'))
        return `detail ${String(answer.json?.detail)}`;
      return undefined;
    });
  }
  await record.check('SCIM token in the query string', async () => {
    const answer = await scim('GET', `/Users?access_token=${SCIM_CORP}`);
    return answer.status === 401 ? undefined : `answered ${answer.status}`;
  });

  const nested = `{"userName":${'['.repeat(20_000)}"deep@acme.test"${']'.repeat(20_000)}}`;
  const bodies: [string, string, string?][] = [
    ['a truncated body', '{"userName":"t@acme.test"'],
    ['JSON nested 20,000 deep', nested],
    ['a body over 64 KiB', JSON.stringify({ userName: 'big@acme.test', pad: 'x'.repeat(70 * 1024) })],
    [
      '__proto__ with admin fields',
      '{"userName":"proto@acme.test","__proto__":{"admin":true,"active":false},"active":"yes"}',
    ],
    ['userName with a NUL', JSON.stringify({ userName: 'nul\u0000@acme.test' })],
    ['userName of 600 characters', JSON.stringify({ userName: `${'a'.repeat(600)}@acme.test` })],
    ['userName empty', JSON.stringify({ userName: '' })],
    ['userName a list', JSON.stringify({ userName: ['a@acme.test'] })],
    ['externalId an object', JSON.stringify({ userName: 'obj@acme.test', externalId: { $ne: null } })],
    ['active a string', JSON.stringify({ userName: 'act@acme.test', active: 'maybe' })],
    ['form-encoded', 'userName=form%40acme.test', 'application/x-www-form-urlencoded'],
    ['text/plain JSON', JSON.stringify({ userName: 'plain@acme.test' }), 'text/plain'],
    ['not JSON at all', '<User><userName>x</userName></User>', 'application/xml'],
  ];
  for (const [name, body, contentType] of bodies) {
    await record.check(`SCIM body: ${name}`, async () => {
      const answer = await scim('POST', '/Users', { token: SCIM_CORP, body, contentType });
      if (answer.status < 400 || answer.status >= 500) return `answered ${answer.status}`;
      if (!/^ERR_(SCIM_INVALID|INPUT_INVALID)/.test(String(answer.json?.detail ?? '')) && answer.status !== 415)
        return `answered ${answer.status} ${JSON.stringify(answer.json).slice(0, 120)}`;
      return undefined;
    });
  }

  const filters = [
    'userName eq "x" or 1 eq 1',
    'userName eq "x") or (userName pr',
    `userName eq "x' OR '1'='1"`,
    'userName pr',
    'userName co ""',
    'externalId eq "a" and userName eq "b"',
    'emails[type eq "work"].value eq "alice@acme.test"',
    `userName eq "${'a'.repeat(5000)}"`,
    'meta.created gt "2000-01-01"',
  ];
  for (const filter of filters) {
    await record.check(`SCIM filter ${JSON.stringify(filter.slice(0, 40))}`, async () => {
      const answer = await scim('GET', `/Users?filter=${encodeURIComponent(filter)}`, { token: SCIM_CORP });
      if (answer.status === 200 && answer.json?.totalResults === 0) return undefined;
      if (answer.status === 400 && answer.json?.scimType === 'invalidFilter') return undefined;
      return `answered ${answer.status} ${JSON.stringify(answer.json).slice(0, 120)}`;
    });
  }
  for (const count of ['-1', '1e9', 'abc', '0x10']) {
    await record.check(`SCIM paging count=${count}`, async () => {
      const answer = await scim('GET', `/Users?count=${count}&startIndex=-5`, { token: SCIM_CORP });
      if (answer.status >= 500) return `answered ${answer.status}`;
      const resources = answer.json?.Resources;
      return Array.isArray(resources) && resources.length > 200 ? `returned ${resources.length}` : undefined;
    });
  }
  const ids = ['..%2F..%2Fapi%2Fv1%2Fusers', "1' OR '1'='1", 'x'.repeat(3000), '%00', 'scu_000000000000000000000'];
  for (const id of ids) {
    await record.check(`SCIM id ${JSON.stringify(id.slice(0, 30))}`, async () => {
      for (const method of ['GET', 'DELETE'] as const) {
        const answer = await scim(method, `/Users/${id}`, { token: SCIM_CORP });
        // 414: the router refuses an id longer than any it issues before SCIM sees it.
        if (answer.status === 414) continue;
        if (answer.status !== 404 && answer.status !== 400) return `${method} answered ${answer.status}`;
        if (!answer.contentType.includes(SCIM_JSON)) return `${method} answered ${answer.contentType}`;
      }
      return undefined;
    });
  }
  await record.check('a userName that differs only in case is a conflict', async () => {
    const first = await scim('POST', '/Users', {
      token: SCIM_CORP,
      body: JSON.stringify({ userName: 'case@acme.test' }),
    });
    if (first.status !== 201) return `the first answered ${first.status}`;
    const second = await scim('POST', '/Users', {
      token: SCIM_CORP,
      body: JSON.stringify({ userName: 'CASE@acme.test' }),
    });
    await scim('DELETE', `/Users/${String(first.json?.id)}`, { token: SCIM_CORP });
    return second.status === 409 ? undefined : `the second answered ${second.status}`;
  });
  await record.check('the server never logged the client secret or a SCIM token', () => {
    const log = ts.server.output();
    const leaked = [CLIENT_SECRET, SCIM_CORP, SCIM_OTHER].filter((secret) => log.includes(secret));
    return leaked.length === 0 ? undefined : `${leaked.length} secrets in the server log`;
  });
  await record.check('nothing else changed: SCIM users and accounts are as before', async () => {
    const after = await scimState(SCIM_CORP);
    if (after !== before) return `SCIM users changed: ${after.slice(0, 200)}`;
    const count = (await userNames()).length;
    return count === userCount ? undefined : `accounts went from ${userCount} to ${count}`;
  });
  expect(record.describeFailures(since)).toEqual([]);
});
