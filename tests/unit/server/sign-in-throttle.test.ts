/** Sign-in throttling under concurrency: attempts are counted before the password is checked. */
import { isSealedCacheError } from '../../../src/errors';
import { hashPassword } from '../../../src/server/auth/passwords';
import type { MetadataStore } from '../../../src/server/metadata/metadata-store';
import type { User } from '../../../src/server/metadata/records';
import { AccountService } from '../../../src/server/web/accounts';
import { IN_FLIGHT_RETRY_MS, SharedThrottle, Throttle } from '../../../src/server/web/sign-in-throttle';
import type { SignInFailures, WebAuthStore } from '../../../src/server/web/web-auth-store';
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

/** The shared-count part of a WebAuthStore in memory; reads and failure writes wait on the gates given. */
function sharedCounts(gates: { read?: Promise<void>; write?: Promise<void> }) {
  const rows = new Map<string, SignInFailures>();
  const store = {
    findSignInFailures: async (key: string) => {
      const row = rows.get(key);
      await gates.read;
      return row === undefined ? undefined : { ...row };
    },
    addSignInFailure: async (key: string, at: string) => {
      const failures = (rows.get(key)?.failures ?? 0) + 1;
      rows.set(key, { failures, lastAt: at, lockedUntil: rows.get(key)?.lockedUntil ?? null });
      await gates.write;
      return failures;
    },
    lockSignIn: async (key: string, until: string) => {
      const row = rows.get(key);
      if (row !== undefined) row.lockedUntil = until;
    },
    clearSignInFailures: async (key: string) => {
      rows.delete(key);
    },
  };
  return { rows, store: store as unknown as WebAuthStore };
}

function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('SharedThrottle on one replica', () => {
  const policy = { ...POLICY, freeAttempts: 2 };

  it('does not count a failure twice while it is being written: the next attempt waits its turn', async () => {
    const write = gate();
    const { rows, store } = sharedCounts({ write: write.opened });
    const throttle = new SharedThrottle('account', policy, store, () => NOW);
    expect(await throttle.reserve('ada')).toBe(0);
    const settling = throttle.settle('ada', 'failure');
    await new Promise(setImmediate);
    // The failure is in the shared count and its slot here is still taken.
    expect(rows.get('account:ada')?.failures).toBe(1);
    const next = throttle.reserve('ada');
    write.open();
    await settling;
    expect(await next).toBe(0);
  });

  it('does not adopt a count read before failures that locked the account', async () => {
    const read = gate();
    const gates: { read?: Promise<void> } = {};
    const { store } = sharedCounts(gates);
    const throttle = new SharedThrottle('account', policy, store, () => NOW);
    expect(await throttle.reserve('ada')).toBe(0);
    expect(await throttle.reserve('ada')).toBe(0);
    // A third attempt's read is slow; both attempts in flight fail meanwhile, which locks the account.
    gates.read = read.opened;
    const third = throttle.reserve('ada');
    const settled = Promise.all([throttle.settle('ada', 'failure'), throttle.settle('ada', 'failure')]);
    await new Promise(setImmediate);
    read.open();
    await settled;
    // Refused for the two attempts still in flight (their failures were not yet counted when it read).
    expect(await third).toBe(IN_FLIGHT_RETRY_MS);
    expect(await throttle.reserve('ada')).toBe(30_000);
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
