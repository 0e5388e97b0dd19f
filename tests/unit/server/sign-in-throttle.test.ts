/** Sign-in throttling under concurrency: attempts are counted before the password is checked. */
import { isSealedCacheError } from '../../../src/errors';
import { hashPassword } from '../../../src/server/auth/passwords';
import type { MetadataStore } from '../../../src/server/metadata/metadata-store';
import type { User } from '../../../src/server/metadata/records';
import { AccountService } from '../../../src/server/web/accounts';
import { Throttle } from '../../../src/server/web/sign-in-throttle';
import type { WebAuthStore } from '../../../src/server/web/web-auth-store';
import { startTestServer, type TestServer } from './test-server';
import { field, PASSWORD, userWithPassword, WebClient } from './web-test-client';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const POLICY = { freeAttempts: 5, baseLockMs: 30_000, maxLockMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };

describe('Throttle.reserve', () => {
  it('lets at most the free attempts be in flight at once, and counts none of them until settled', () => {
    let now = NOW.getTime();
    const throttle = new Throttle(POLICY, () => new Date(now));
    const granted = Array.from({ length: 30 }, () => throttle.reserve('ada')).filter((wait) => wait === 0);
    expect(granted).toHaveLength(5);
    expect(throttle.retryAfterMs('ada')).toBe(0);
    for (let i = 0; i < 5; i++) throttle.settle('ada', 'failure');
    expect(throttle.retryAfterMs('ada')).toBe(30_000);
    expect(throttle.reserve('ada')).toBe(30_000);
    now += 30_000;
    // After a lockout, one attempt at a time.
    expect(throttle.reserve('ada')).toBe(0);
    expect(throttle.reserve('ada')).toBeGreaterThan(0);
    throttle.settle('ada', 'failure');
    expect(throttle.retryAfterMs('ada')).toBe(60_000);
  });

  it('frees the slot on a neutral outcome and forgives failures on success', () => {
    const throttle = new Throttle(POLICY, () => NOW);
    for (let i = 0; i < 4; i++) {
      expect(throttle.reserve('ada')).toBe(0);
      throttle.settle('ada', 'failure');
    }
    expect(throttle.reserve('ada')).toBe(0);
    expect(throttle.reserve('ada')).toBeGreaterThan(0);
    throttle.settle('ada', 'neutral');
    expect(throttle.reserve('ada')).toBe(0);
    throttle.settle('ada', 'success');
    expect(Array.from({ length: 10 }, () => throttle.reserve('ada')).filter((wait) => wait === 0)).toHaveLength(5);
  });
});

describe('AccountService.signIn under concurrency', () => {
  it('evaluates at most 5 of 30 concurrent attempts with the right password', async () => {
    const user: User = {
      id: 'usr_ada',
      name: 'ada',
      bot: false,
      serverAdmin: false,
      ownerOrgId: null,
      createdAt: NOW.toISOString(),
    };
    const stored = await hashPassword(PASSWORD, { N: 2 ** 10, r: 8, p: 1 });
    let evaluated = 0;
    const store = { findUser: async () => user } as unknown as MetadataStore;
    const auth = {
      findPasswordHash: async () => {
        evaluated += 1;
        return stored;
      },
      setPasswordHash: async () => undefined,
      findSignInFailures: async () => undefined,
      clearSignInFailures: async () => undefined,
    } as unknown as WebAuthStore;
    const accounts = new AccountService({ store, auth, sessions: {} as never, audit: {} as never, clock: () => NOW });
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () => accounts.signIn('ada', PASSWORD, '203.0.113.7')),
    );
    expect(evaluated).toBe(5);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(25);
    expect(refused.every((r) => isSealedCacheError(r.reason, 'ERR_AUTH_RATE_LIMITED'))).toBe(true);
  });
});

describe('sign-in over HTTP under concurrency', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer();
    await userWithPassword(ts, 'ada');
  });
  afterAll(async () => ts.stop());

  it('answers 30 concurrent guesses with at most 5 evaluated, then refuses even the right password', async () => {
    const clients = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const client = new WebClient(ts.url);
        return { client, csrf: field((await client.get('/ui/sign-in')).text, 'csrf') };
      }),
    );
    const answers = await Promise.all(
      clients.map(({ client, csrf }, i) =>
        client.post('/ui/sign-in', { csrf, name: 'ada', password: `wrong guess number ${i}`, next: '/ui/tokens' }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(25);
    const right = new WebClient(ts.url);
    expect((await right.signIn('ada')).status).toBe(429);
    expect(right.cookies.has('nxsc_session')).toBe(false);
  });
});
