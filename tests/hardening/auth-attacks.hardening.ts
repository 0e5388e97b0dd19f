/**
 * Auth attacks against the real server: tokens that are wrong, malformed, expired (moved clock), revoked,
 * rotated away, of another workspace, or of the wrong kind. Held: refused (401, or 403 for a PUT of a
 * read-only credential), nothing read or stored. Brute force must meet a rate limit. Timing is compared
 * statistically (see docs/hardening.md): unknown and revoked tokens must not be told apart by medians.
 */
import { randomBytes } from 'node:crypto';
import { Pool, request } from 'undici';
import { generateToken } from '../../src/server/auth/token-format';
import { setPasswordInStore } from '../../src/server/offline-password';
import { AreaRecord } from './support/area-record';
import {
  NO_LIMITS,
  adminApi,
  cacheGet,
  cachePut,
  dataDirIn,
  serverOptionNames,
  startHardeningServer,
  supportedOptions,
  type HardeningServer,
} from './support/hardening-server';
import { createSandbox, type Sandbox } from './support/sandbox';
import { SeededRandom } from './support/seeded-random';

const record = new AreaRecord('Auth attacks', __filename);
const SECRET_HASH = 'auth-secret-entry';
const SECRET_BODY = Buffer.from('only the main workspace may read this');
const TIMING_SAMPLES = 300;
/** Medians may differ by at most this share of the larger median, or by this many ms, whichever is larger. */
const TIMING_RELATIVE_BOUND = 0.5;
const TIMING_ABSOLUTE_BOUND_MS = 2;
const BRUTE_FORCE_ATTEMPTS = 300;

let sandbox: Sandbox;
let ts: HardeningServer;

beforeAll(async () => {
  sandbox = createSandbox('auth');
  // Limits off here, so each attack is judged by its own answer; the brute-force test has a server with the defaults.
  ts = await startHardeningServer(dataDirIn(sandbox.root), supportedOptions(NO_LIMITS));
  expect(await cachePut(ts.url, SECRET_HASH, SECRET_BODY, ts.writeToken)).toBe(200);
});

afterAll(async () => {
  await ts?.stop();
  sandbox?.dispose();
  record.flush();
});

interface IssuedToken {
  id: string;
  token: string;
}

const issue = (body: Record<string, unknown>): Promise<IssuedToken> =>
  adminApi<IssuedToken>(ts.url, ts.adminToken, 'POST', '/tokens', body);

/** Malformed variants of a real token, chosen by the seed. */
function malformedTokens(random: SeededRandom, real: string): string[] {
  const flip = (s: string, at: number): string => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
  const variants = [
    real.slice(0, -1),
    `${real}x`,
    flip(real, random.int(8, real.length - 1)),
    real.toUpperCase(),
    real.replace('nxsc_ci_', 'nxsc_xx_'),
    real.replace('nxsc_', 'nxsc-'),
    'nxsc_ci_',
    '',
    ' ',
    'a'.repeat(random.int(100, 9000)),
    `${real.slice(0, 20)}\u00e9${real.slice(21)}`,
    `${real}%00`,
    'null',
    'undefined',
    "' OR 1=1 --",
    '../../etc/passwd',
  ];
  return variants;
}

async function refused(
  label: string,
  path: string,
  token: string | undefined,
  rawAuth?: string,
): Promise<string | undefined> {
  const headers: Record<string, string> =
    rawAuth !== undefined
      ? { authorization: rawAuth }
      : token !== undefined
        ? { authorization: `Bearer ${token}` }
        : {};
  const get = await request(`${ts.url}${path}/v1/cache/${SECRET_HASH}`, { headers });
  const getBody = await get.body.text();
  if (get.statusCode !== 401) return `${label}: GET answered ${get.statusCode} ${getBody.slice(0, 80)}`;
  if (getBody.includes(SECRET_BODY.toString())) return `${label}: GET leaked the entry`;
  const hash = `auth-put-${randomBytes(6).toString('hex')}`;
  const put = await request(`${ts.url}${path}/v1/cache/${hash}`, {
    method: 'PUT',
    headers: { ...headers, 'content-length': '4' },
    body: 'evil',
  });
  await put.body.dump();
  if (put.statusCode !== 401 && put.statusCode !== 403) return `${label}: PUT answered ${put.statusCode}`;
  const stored = await cacheGet(ts.url, hash, ts.writeToken);
  return stored.status === 404 ? undefined : `${label}: the refused PUT stored an entry`;
}

test('wrong, malformed, expired, revoked, rotated-away, foreign and wrong-kind tokens are refused', async () => {
  const random = new SeededRandom(record.seed);
  const victim = await issue({ kind: 'ci', workspaceId: ts.workspaceId, access: 'read-write', name: 'victim' });
  for (const [i, token] of malformedTokens(random, victim.token).entries()) {
    await record.check(`malformed token #${i}`, () => refused(`malformed #${i}`, '', token));
  }
  for (const [i, header] of [
    'Basic dXNlcjpwYXNz',
    `Bearer ${victim.token} ${victim.token}`,
    `bearer${victim.token}`,
    `Token ${victim.token}`,
    'Bearer',
  ].entries()) {
    await record.check(`malformed Authorization header #${i}`, () => refused(`header #${i}`, '', undefined, header));
  }
  for (let i = 0; i < 10; i += 1) {
    await record.check(`unknown well-formed token #${i}`, () =>
      refused('unknown', '', generateToken(random.pick(['ci', 'personal', 'admin'] as const))),
    );
  }
  const expiring = await issue({
    kind: 'ci',
    workspaceId: ts.workspaceId,
    access: 'read-write',
    name: 'expiring',
    expiresIn: '1h',
  });
  ts.clock.advance(2 * 60 * 60 * 1000);
  await record.check('expired token (clock moved past expiry)', () => refused('expired', '', expiring.token));
  const revoked = await issue({ kind: 'ci', workspaceId: ts.workspaceId, access: 'read-write', name: 'revoked' });
  await adminApi(ts.url, ts.adminToken, 'POST', `/tokens/${revoked.id}/revoke`, {});
  await record.check('revoked token', () => refused('revoked', '', revoked.token));
  const rotated = await issue({ kind: 'ci', workspaceId: ts.workspaceId, access: 'read-write', name: 'rotated' });
  const fresh = await adminApi<IssuedToken>(ts.url, ts.adminToken, 'POST', `/tokens/${rotated.id}/rotate`, {});
  await record.check('rotated-away token value', () => refused('rotated away', '', rotated.token));
  await record.check('the rotated token value works', async () => {
    const answer = await request(`${ts.url}/v1/access`, { headers: { authorization: `Bearer ${fresh.token}` } });
    await answer.body.dump();
    return answer.statusCode === 200 ? undefined : `new value answered ${answer.statusCode}`;
  });
  const foreign = await issue({ kind: 'ci', workspaceId: ts.otherWorkspaceId, access: 'read-write', name: 'foreign' });
  await record.check('token of another workspace via /w/<main>', () =>
    refused('foreign via /w', `/w/${ts.workspaceId}`, foreign.token),
  );
  await record.check('token of another workspace without a prefix reads its own workspace only', async () => {
    const answer = await cacheGet(ts.url, SECRET_HASH, foreign.token);
    return answer.status === 404 ? undefined : `answered ${answer.status}`;
  });
  await record.check('admin token on the cache route', () =>
    refused('admin token', `/w/${ts.workspaceId}`, ts.adminToken),
  );
  await record.check('anonymous on a workspace without anonymous access', () =>
    refused('anonymous', `/w/${ts.workspaceId}`, undefined),
  );
  await record.check('anonymous GET /v1/access of a workspace without anonymous access learns no names', async () => {
    const answer = await request(`${ts.url}/w/${ts.workspaceId}/v1/access`);
    const body = await answer.body.text();
    if (answer.statusCode !== 401 || !body.includes('ERR_AUTH_ANONYMOUS_DENIED'))
      return `answered ${answer.statusCode} ${body.slice(0, 120)}`;
    return /"main"|org-[0-9a-f]{8}/.test(body)
      ? `the answer names the workspace or organisation: ${body.slice(0, 200)}`
      : undefined;
  });
  const reader = await issue({ kind: 'ci', workspaceId: ts.workspaceId, access: 'read', name: 'reader' });
  await record.check('read-only token cannot PUT', async () => {
    const status = await cachePut(
      ts.url,
      `auth-read-put-${randomBytes(4).toString('hex')}`,
      Buffer.from('x'),
      reader.token,
    );
    return status === 403 ? undefined : `PUT answered ${status}`;
  });
  await record.check('CI token on the admin API', async () => {
    const answer = await request(`${ts.url}/api/v1/tokens`, { headers: { authorization: `Bearer ${victim.token}` } });
    await answer.body.dump();
    return answer.statusCode === 401 || answer.statusCode === 403 ? undefined : `answered ${answer.statusCode}`;
  });
  expect(record.describeFailures()).toEqual([]);
});

test('brute force from one address is rate-limited', async () => {
  const since = record.failures.length;
  const defaults = await startHardeningServer(sandbox.dir('brute-force-data'));
  expect(await cachePut(defaults.url, SECRET_HASH, SECRET_BODY, defaults.writeToken)).toBe(200);
  const limits = serverOptionNames().filter((name) => /rate|limit|attempt/i.test(name));
  const pool = new Pool(defaults.url, { connections: 4 });
  /** Sends bad tokens until `limited` says an answer came from the limiter; the statuses seen, for the message. */
  const bruteForce = async (path: string, limited: (status: number) => boolean): Promise<string | undefined> => {
    const statuses = new Map<number, number>();
    for (let i = 0; i < BRUTE_FORCE_ATTEMPTS; i += 1) {
      const answer = await pool.request({
        method: 'GET',
        path,
        headers: { authorization: `Bearer ${generateToken('ci')}` },
      });
      const body = await answer.body.text();
      if (body.includes(SECRET_BODY.toString())) return `attempt ${i} read the entry`;
      statuses.set(answer.statusCode, (statuses.get(answer.statusCode) ?? 0) + 1);
      if (limited(answer.statusCode)) return undefined;
    }
    return `not limited after ${BRUTE_FORCE_ATTEMPTS} bad tokens (statuses ${JSON.stringify(Object.fromEntries(statuses))}; limit options: ${limits.join(', ') || 'none'})`;
  };
  try {
    // The cache GET route answers a limited request with a miss (a 429 would abort the Nx run); elsewhere 429.
    await record.check(`${BRUTE_FORCE_ATTEMPTS} unknown tokens on GET /v1/access meet a 429 (default limits)`, () =>
      bruteForce('/v1/access', (status) => status === 429),
    );
    await record.check(`unknown tokens on the cache GET route are answered by the limiter (miss, not 401)`, () =>
      bruteForce(`/v1/cache/${SECRET_HASH}`, (status) => status === 404 || status === 429),
    );
  } finally {
    await pool.close();
    await defaults.stop();
  }
  expect(record.describeFailures(since)).toEqual([]);
});

/** A sign-in form's CSRF token and the pre-session cookie it is bound to. */
async function signInForm(url: string): Promise<{ cookie: string; csrf: string }> {
  const form = await request(`${url}/ui/sign-in`);
  const html = await form.body.text();
  const cookie = ([] as string[])
    .concat(form.headers['set-cookie'] ?? [])
    .map((line) => line.split(';')[0])
    .join('; ');
  return { cookie, csrf: /name="csrf" value="([^"]*)"/.exec(html)?.[1] ?? '' };
}

test('concurrent password guesses cannot outrun the sign-in lockout', async () => {
  const since = record.failures.length;
  const name = 'guess-target';
  const password = 'the right password, long enough';
  await adminApi(ts.url, ts.adminToken, 'POST', '/users', { name });
  // No token sets a password; the server's own path does (as `user set-password --data-dir` would).
  await setPasswordInStore(ts.server.context.store, name, password, () => ts.clock.now);
  const forms = await Promise.all(Array.from({ length: 30 }, () => signInForm(ts.url)));
  const attempt = async (form: { cookie: string; csrf: string }, guess: string): Promise<number> => {
    const answer = await request(`${ts.url}/ui/sign-in`, {
      method: 'POST',
      headers: {
        cookie: form.cookie,
        'content-type': 'application/x-www-form-urlencoded',
        origin: ts.url,
        'sec-fetch-site': 'same-origin',
      },
      body: new URLSearchParams({ csrf: form.csrf, name, password: guess, next: '/ui/tokens' }).toString(),
    });
    await answer.body.dump();
    return answer.statusCode;
  };
  // The account allows 5 failures; 30 wrong guesses at once must not all be checked.
  const statuses = await Promise.all(forms.map((form, i) => attempt(form, `wrong guess ${i}`)));
  const evaluated = statuses.filter((status) => status !== 429).length;
  await record.check('30 concurrent sign-ins to one account (limit 5): at most 5 are checked', () =>
    evaluated <= 5 ? undefined : `${evaluated} attempts were checked (statuses ${statuses.join(',')})`,
  );
  await record.check('after the concurrent guesses, the right password is refused until the lockout ends', async () => {
    const status = await attempt(await signInForm(ts.url), password);
    return status === 429 ? undefined : `answered ${status}`;
  });
  expect(record.describeFailures(since)).toEqual([]);
});

test('a CLI login started by someone else cannot be approved from a link, and the page shows where it came from', async () => {
  const since = record.failures.length;
  const name = 'login-victim';
  const password = 'the victim password, long enough';
  await adminApi(ts.url, ts.adminToken, 'POST', '/users', { name });
  // No token sets a password; the server's own path does (as `user set-password --data-dir` would).
  await setPasswordInStore(ts.server.context.store, name, password, () => ts.clock.now);
  const ws = await adminApi<{ orgId: string }>(ts.url, ts.adminToken, 'GET', `/workspaces/${ts.workspaceId}`);
  await adminApi(ts.url, ts.adminToken, 'POST', `/orgs/${ws.orgId}/members`, { user: name, role: 'member' });
  // The attacker starts a request naming the victim's workspace.
  const started = await request(`${ts.url}/api/v1/login/requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'attacker-tool/1.0' },
    body: JSON.stringify({ hostname: 'victims-laptop', workspaceId: ts.workspaceId }),
  });
  const answer = (await started.body.json()) as Record<string, string>;
  await record.check('the start answer carries no link with the code filled in', () =>
    started.statusCode === 201 && !('verificationUrlComplete' in answer) && !JSON.stringify(answer).includes('code=')
      ? undefined
      : `answered ${started.statusCode} ${JSON.stringify(Object.keys(answer))}`,
  );
  // The victim signs in and follows the attacker's link.
  const form = await signInForm(ts.url);
  const signedIn = await request(`${ts.url}/ui/sign-in`, {
    method: 'POST',
    headers: {
      cookie: form.cookie,
      'content-type': 'application/x-www-form-urlencoded',
      origin: ts.url,
      'sec-fetch-site': 'same-origin',
    },
    body: new URLSearchParams({ csrf: form.csrf, name, password, next: '/ui/tokens' }).toString(),
  });
  await signedIn.body.dump();
  const session = ([] as string[])
    .concat(signedIn.headers['set-cookie'] ?? [])
    .map((line) => line.split(';')[0])
    .join('; ');
  const linked = await request(`${ts.url}/ui/device?code=${answer.userCode}`, { headers: { cookie: session } });
  const linkedPage = await linked.body.text();
  await record.check('a link carrying the code opens no approval (the code must be typed)', () =>
    linked.statusCode === 200 &&
    !linkedPage.includes(answer.userCode ?? '') &&
    !linkedPage.includes('/ui/device/approve')
      ? undefined
      : `answered ${linked.statusCode}; approval form or code shown`,
  );
  await record.check('the approval page shows the client address and program the request came from', async () => {
    const csrf = /name="csrf" value="([^"]*)"/.exec(linkedPage)?.[1] ?? '';
    const confirm = await request(`${ts.url}/ui/device`, {
      method: 'POST',
      headers: {
        cookie: session,
        'content-type': 'application/x-www-form-urlencoded',
        origin: ts.url,
        'sec-fetch-site': 'same-origin',
      },
      body: new URLSearchParams({ csrf, code: answer.userCode ?? '' }).toString(),
    });
    const text = await confirm.body.text();
    return confirm.statusCode === 200 && text.includes('127.0.0.1') && text.includes('attacker-tool/1.0')
      ? undefined
      : `answered ${confirm.statusCode} without the origin`;
  });
  expect(record.describeFailures(since)).toEqual([]);
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

test('response times do not tell an unknown token from a revoked or expired one', async () => {
  const since = record.failures.length;
  const revoked = await issue({ kind: 'ci', workspaceId: ts.workspaceId, access: 'read', name: 'timing-revoked' });
  await adminApi(ts.url, ts.adminToken, 'POST', `/tokens/${revoked.id}/revoke`, {});
  const expired = await issue({
    kind: 'ci',
    workspaceId: ts.workspaceId,
    access: 'read',
    name: 'timing-expired',
    expiresIn: '1h',
  });
  ts.clock.advance(2 * 60 * 60 * 1000);
  const kinds = {
    unknown: () => generateToken('ci'),
    revoked: () => revoked.token,
    expired: () => expired.token,
    malformed: () => `${generateToken('ci').slice(0, -1)}!`,
  } as const;
  const samples: Record<keyof typeof kinds, number[]> = { unknown: [], revoked: [], expired: [], malformed: [] };
  const pool = new Pool(ts.url, { connections: 1 });
  try {
    // Interleaved, one connection, so drift and warm-up hit every kind alike; a warm-up round is discarded.
    for (let round = -20; round < TIMING_SAMPLES; round += 1) {
      for (const kind of Object.keys(kinds) as (keyof typeof kinds)[]) {
        const token = kinds[kind]();
        const started = process.hrtime.bigint();
        const answer = await pool.request({
          method: 'GET',
          path: `/v1/cache/${SECRET_HASH}`,
          headers: { authorization: `Bearer ${token}` },
        });
        await answer.body.dump();
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        if (answer.statusCode === 429) throw new Error('rate-limited during the timing measurement');
        if (round >= 0) samples[kind].push(elapsedMs);
      }
    }
  } finally {
    await pool.close();
  }
  const medians = Object.fromEntries(Object.entries(samples).map(([kind, values]) => [kind, median(values)])) as Record<
    keyof typeof kinds,
    number
  >;
  record.note(
    `timing medians over ${TIMING_SAMPLES} interleaved requests each (ms): ${Object.entries(medians)
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(', ')}`,
  );
  // Malformed tokens are refused before any lookup; whether a string is well formed anyone can check offline, so it is reported, not judged.
  for (const other of ['revoked', 'expired'] as const) {
    await record.check(`median time, unknown vs ${other} token`, () => {
      const a = medians.unknown;
      const b = medians[other];
      const bound = Math.max(TIMING_ABSOLUTE_BOUND_MS, TIMING_RELATIVE_BOUND * Math.max(a, b));
      return Math.abs(a - b) <= bound
        ? undefined
        : `medians ${a.toFixed(3)} ms vs ${b.toFixed(3)} ms differ by more than ${bound.toFixed(3)} ms`;
    });
  }
  expect(record.describeFailures(since)).toEqual([]);
});
