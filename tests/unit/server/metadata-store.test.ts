/**
 * The metadata store's contract, run against every engine in store-backends.ts: SQLite, and
 * PostgreSQL (PGlite by default, a real server when NX_SEALED_CACHE_TEST_DATABASE_URL is set).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MetadataStore } from '../../../src/server/metadata/metadata-store';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { migrationProvider } from '../../../src/server/metadata/migrations';
import type { CacheEntry, TokenRecord } from '../../../src/server/metadata/records';
import { SHARED_NAMESPACE } from '../../../src/server/tiers/write-tier';
import { SharedThrottle } from '../../../src/server/web/sign-in-throttle';
import type { NewRun } from '../../../src/server/runs/run-store';
import { storeBackends } from './store-backends';
import { makeTempDir } from './test-server';

const at = (minute: number): string => new Date(Date.UTC(2030, 0, 1, 0, minute)).toISOString();

const entry = (hash: string, over: Partial<CacheEntry> = {}): CacheEntry => ({
  workspaceId: 'ws_1',
  namespace: SHARED_NAMESPACE,
  hash,
  blobKey: `blob-${hash}-${Math.random().toString(36).slice(2)}`,
  size: 10,
  sha256: 'a'.repeat(64),
  writerTokenId: 'tok_ci',
  writerUserId: null,
  createdAt: at(0),
  lastAccessAt: at(0),
  ...over,
});

const token = (id: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
  id,
  kind: 'ci',
  name: id,
  tokenHash: `hash-${id}`,
  workspaceId: 'ws_1',
  userId: null,
  access: 'read-write',
  tier: 'trusted',
  scope: null,
  createdAt: at(0),
  createdByTokenId: null,
  expiresAt: null,
  revokedAt: null,
  rotatedAt: null,
  lastUsedAt: null,
  ...over,
});

describe.each(storeBackends())('metadata store on $name', (backend) => {
  let store: MetadataStore;

  // Starting an engine (PGlite compiles its WebAssembly build) is setup, not what is tested.
  beforeAll(() => backend.setUp(), 60_000);
  afterAll(() => backend.tearDown());

  beforeEach(async () => {
    store = await backend.open();
    await store.insertOrganisation({ id: 'org_1', name: 'acme', public: false, createdAt: at(0) });
    await store.insertUser({
      id: 'usr_1',
      name: 'ada',
      bot: false,
      serverAdmin: true,
      ownerOrgId: null,
      createdAt: at(0),
    });
    await store.insertWorkspace({
      id: 'ws_1',
      orgId: 'org_1',
      name: 'web',
      anonymousAccess: 'none',
      memberDefaultAccess: 'read',
      personalTokenTier: 'isolated',
      isolatedRetention: '7d',
      createdAt: at(0),
    });
  });

  afterEach(async () => {
    await store.close();
  });

  it('has run every migration, and names the engine', async () => {
    expect(await store.appliedMigrations()).toEqual(Object.keys(await migrationProvider.getMigrations()).sort());
    expect(store.engine).toBe(backend.engine);
  });

  it('answers a name clash with exists, and a missing row with undefined', async () => {
    expect(await store.insertOrganisation({ id: 'org_2', name: 'acme', public: true, createdAt: at(1) })).toBe(
      'exists',
    );
    expect(await store.findOrganisation('acme')).toEqual({
      id: 'org_1',
      name: 'acme',
      public: false,
      createdAt: at(0),
    });
    expect(await store.findOrganisation('nope')).toBeUndefined();
    expect(await store.hasServerAdmin()).toBe(true);
    expect((await store.findUser('ada'))?.serverAdmin).toBe(true);
  });

  it('revokes a token once, and refuses to change a revoked token', async () => {
    await store.insertToken(token('tok_ci'));
    expect((await store.findTokenByHash('hash-tok_ci'))?.revokedAt).toBeNull();
    await store.revokeToken('tok_ci', at(5));
    await store.revokeToken('tok_ci', at(9));
    expect((await store.findToken('tok_ci'))?.revokedAt).toBe(at(5));
    expect(await store.setTokenAccess('tok_ci', 'read')).toBe(false);
    await store.touchTokenLastUsed('tok_ci', at(6));
    expect((await store.findToken('tok_ci'))?.lastUsedAt).toBe(at(6));
  });

  it('cache request: one look reads the token, its user, workspace, organisation, membership and readable entries', async () => {
    const tokens = [
      token('tok_ci'),
      token('tok_pr', { scope: 'pr-1', tier: 'isolated' }),
      token('tok_me', { kind: 'personal', userId: 'usr_1', workspaceId: null, tier: null }),
    ];
    // In another token's namespace, or quarantined (t:tok_ci): never read with these tokens.
    const seed = async (target: MetadataStore): Promise<void> => {
      for (const t of tokens) await target.insertToken(t);
      await target.insertMembership({ orgId: 'org_1', userId: 'usr_1', role: 'member', createdAt: at(0) });
      await target.setWorkspaceOverride('ws_1', 'usr_1', 'read-write');
      for (const namespace of [SHARED_NAMESPACE, 's:pr-1', 'u:usr_1', 't:tok_other', 's:pr-2'])
        await target.insertEntry(entry('h', { namespace, writerTokenId: 'tok_w' }));
      await target.insertEntry(entry('h', { namespace: 't:tok_ci', writerTokenId: 'tok_q' }));
      await target.insertEntry(entry('other', { namespace: SHARED_NAMESPACE, writerTokenId: 'tok_w' }));
      await target.tiers.quarantineEntries({ workspaceId: 'ws_1', tokenId: 'tok_q' }, at(1));
    };
    const look = async (target: MetadataStore) => {
      const answers = [];
      for (const t of tokens) {
        const facts = await target.findCacheRequest(t.tokenHash, 'ws_1', 'h');
        answers.push({
          token: facts?.token.id,
          user: facts?.user?.name,
          workspace: facts?.workspace?.id,
          org: facts?.organisation?.name,
          role: facts?.membership?.role,
          override: facts?.override?.access,
          namespaces: facts?.entries?.map((e) => `${e.hash}@${e.namespace}`).sort(),
        });
      }
      return answers;
    };
    // The entries are `shared` and the namespace isolatedNamespaceOf gives the token (write-tier.ts).
    const expected = (readsEntries: boolean) =>
      [
        { token: 'tok_ci', user: undefined, workspace: 'ws_1', org: 'acme', role: undefined, override: undefined },
        { token: 'tok_pr', user: undefined, workspace: 'ws_1', org: 'acme', role: undefined, override: undefined },
        { token: 'tok_me', user: 'ada', workspace: 'ws_1', org: 'acme', role: 'member', override: 'read-write' },
      ].map((row, i) => ({
        ...row,
        namespaces: readsEntries ? [['h@shared'], ['h@s:pr-1', 'h@shared'], ['h@shared', 'h@u:usr_1']][i] : undefined,
      }));
    await seed(store);
    // The embedded server's store answers from remembered lookups and leaves entries to findEntry.
    expect(await look(store)).toEqual(expected(backend.engine === 'postgres'));
    expect(await store.findCacheRequest('hash-unknown', 'ws_1', 'h')).toBeUndefined();
    // Every field of every part, typed as the single-record reads give it (numbers, flags, nulls, sizes).
    const me = await store.findCacheRequest('hash-tok_me', 'ws_1', 'h');
    expect(me).toEqual({
      token: await store.findToken('tok_me'),
      user: await store.findUser('usr_1'),
      workspace: await store.findWorkspace('ws_1'),
      organisation: await store.findOrganisation('org_1'),
      membership: await store.findMembership('org_1', 'usr_1'),
      override: await store.findWorkspaceOverride('ws_1', 'usr_1'),
      entries:
        backend.engine === 'postgres'
          ? [await store.findEntry('ws_1', SHARED_NAMESPACE, 'h'), await store.findEntry('ws_1', 'u:usr_1', 'h')]
          : undefined,
    });
    expect(typeof me?.entries?.[0]?.size).toBe(backend.engine === 'postgres' ? 'number' : 'undefined');
    // At once (on PostgreSQL one batched statement): each caller gets its own answer.
    const together = await Promise.all([
      ...tokens.map((t) => store.findCacheRequest(t.tokenHash, 'ws_1', 'h')),
      store.findCacheRequest('hash-unknown', 'ws_1', 'h'),
      store.findCacheRequest('hash-tok_ci', 'ws_1', 'other'),
      store.findCacheRequest('hash-tok_me', 'ws_nope', 'h'),
    ]);
    expect(
      together.map((f) => [f?.token.id, f?.workspace?.id, f?.entries?.map((e) => `${e.hash}@${e.namespace}`).sort()]),
    ).toEqual([
      ['tok_ci', 'ws_1', backend.engine === 'postgres' ? ['h@shared'] : undefined],
      ['tok_pr', 'ws_1', backend.engine === 'postgres' ? ['h@s:pr-1', 'h@shared'] : undefined],
      ['tok_me', 'ws_1', backend.engine === 'postgres' ? ['h@shared', 'h@u:usr_1'] : undefined],
      [undefined, undefined, undefined],
      ['tok_ci', 'ws_1', backend.engine === 'postgres' ? ['other@shared'] : undefined],
      ['tok_me', undefined, backend.engine === 'postgres' ? [] : undefined],
    ]);
    // One caller's value PostgreSQL cannot hold (a NUL) fails its own answer only, not the batch's others.
    const [broken, fine] = await Promise.allSettled([
      store.findCacheRequest('hash-tok_me', 'ws_\u0000', 'h'),
      store.findCacheRequest('hash-tok_ci', 'ws_1', 'h'),
    ]);
    expect(fine.status === 'fulfilled' && fine.value?.token.id).toBe('tok_ci');
    expect(broken.status === 'rejected' || broken.value?.workspace === undefined).toBe(true);
    // Without a hash no entry is read; without a bound or named workspace none is found.
    const bare = await store.findCacheRequest('hash-tok_me', undefined, undefined);
    expect([bare?.token.id, bare?.workspace, bare?.entries]).toEqual(['tok_me', undefined, undefined]);
    if (backend.engine === 'sqlite') {
      // The joined statement itself, as a store without remembered lookups (the storage tools) runs it.
      const dir = makeTempDir('nxsc-store-');
      const plain = await openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
      try {
        await plain.insertOrganisation({ id: 'org_1', name: 'acme', public: false, createdAt: at(0) });
        await plain.insertUser({
          id: 'usr_1',
          name: 'ada',
          bot: false,
          serverAdmin: true,
          ownerOrgId: null,
          createdAt: at(0),
        });
        await plain.insertWorkspace({
          id: 'ws_1',
          orgId: 'org_1',
          name: 'web',
          anonymousAccess: 'none',
          memberDefaultAccess: 'read',
          personalTokenTier: 'isolated',
          isolatedRetention: '7d',
          createdAt: at(0),
        });
        await seed(plain);
        expect(await look(plain)).toEqual(expected(true));
      } finally {
        await plain.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('limits: adds counts per key and window, answers the totals, and forgets ended windows', async () => {
    expect(await store.limits.add('requests', [])).toEqual([]);
    const first = await store.limits.add('requests', [
      { key: 't:a', windowStart: 60_000, used: 3 },
      { key: 't:b', windowStart: 60_000, used: 0 },
    ]);
    expect(first.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: 't:a', windowStart: 60_000, used: 3 },
      { key: 't:b', windowStart: 60_000, used: 0 },
    ]);
    // Another replica's flush adds to the same row; bytes past 2^32 stay exact.
    expect(await store.limits.add('requests', [{ key: 't:a', windowStart: 60_000, used: 2 }])).toEqual([
      { key: 't:a', windowStart: 60_000, used: 5 },
    ]);
    await store.limits.add('bytes', [{ key: 't:a', windowStart: 60_000, used: 5 * 2 ** 32 }]);
    await store.limits.add('requests', [{ key: 't:a', windowStart: 120_000, used: 1 }]);
    expect(await store.limits.read('requests', 60_000, ['t:a', 't:b', 't:c'])).toEqual(
      new Map([
        ['t:a', 5],
        ['t:b', 0],
      ]),
    );
    expect(await store.limits.read('bytes', 60_000, ['t:a'])).toEqual(new Map([['t:a', 5 * 2 ** 32]]));
    expect(await store.limits.forgetBefore('requests', 120_000)).toBe(2);
    expect(await store.limits.read('requests', 60_000, ['t:a'])).toEqual(new Map());
    expect(await store.limits.read('requests', 120_000, ['t:a'])).toEqual(new Map([['t:a', 1]]));
    expect(await store.limits.read('bytes', 60_000, ['t:a'])).toEqual(new Map([['t:a', 5 * 2 ** 32]]));
  });

  it('limits: a key and window is claimed once, by exactly one of concurrent claimers', async () => {
    const claims = await Promise.all(Array.from({ length: 6 }, () => store.limits.claim('audit-denied', 'k', 60_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.limits.claim('audit-denied', 'k', 120_000)).toBe(true);
    expect(await store.limits.claim('audit-denied', 'other', 60_000)).toBe(true);
    // Another counter's row of the same key and window is another claim.
    expect(await store.limits.claim('login-starts', 'k', 60_000)).toBe(true);
    expect(await store.limits.forgetBefore('audit-denied', 120_000)).toBe(2);
    expect(await store.limits.claim('audit-denied', 'k', 60_000)).toBe(true);
  });

  it('lets exactly one of many concurrent writers of one hash insert it', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => store.insertEntry(entry('h1'))));
    expect(results.filter((r) => r === 'inserted')).toHaveLength(1);
    expect(results.filter((r) => r === 'exists')).toHaveLength(7);
    expect((await store.findEntry('ws_1', SHARED_NAMESPACE, 'h1'))?.size).toBe(10);
  });

  it('keeps sizes above 4 GiB exact', async () => {
    await store.insertEntry(entry('big', { size: 5 * 2 ** 30 }));
    expect((await store.findEntry('ws_1', SHARED_NAMESPACE, 'big'))?.size).toBe(5 * 2 ** 30);
    expect(await store.retention.totals()).toEqual({ entries: 1, bytes: 5 * 2 ** 30 });
  });

  it('lists audit events newest first, as numbers and parsed details', async () => {
    for (const [i, action] of ['a', 'b', 'c'].entries()) {
      await store.appendAudit({
        at: at(i),
        action,
        actorTokenId: null,
        actorUserId: 'usr_1',
        orgId: 'org_1',
        workspaceId: null,
        targetId: null,
        details: { i },
      });
    }
    const events = await store.listAudit({ orgId: 'org_1', limit: 2 });
    expect(events.map((e) => [e.action, e.details])).toEqual([
      ['c', { i: 2 }],
      ['b', { i: 1 }],
    ]);
    expect(typeof events[0]?.id).toBe('number');
  });

  it('tiers: lists, quarantines and removes entries by writer', async () => {
    await store.insertEntry(entry('h1'));
    await store.insertEntry(entry('h2', { namespace: 't:tok_pr', writerTokenId: 'tok_pr', createdAt: at(1) }));
    const isolated = await store.tiers.listEntries({ workspaceId: 'ws_1', tier: 'isolated' }, 10);
    expect(isolated.map((r) => [r.hash, typeof r.id])).toEqual([['h2', 'number']]);
    expect(await store.tiers.quarantineEntries({ workspaceId: 'ws_1', tokenId: 'tok_pr' }, at(2))).toBe(1);
    expect(await store.findEntry('ws_1', 't:tok_pr', 'h2')).toBeUndefined();
    const removed = await store.tiers.removeEntries({ workspaceId: 'ws_1', tokenId: 'tok_pr' });
    expect(removed).toHaveLength(1);
    expect(await store.retention.totals()).toEqual({ entries: 1, bytes: 10 });
    await store.tiers.updateTierPolicy('ws_1', { isolatedRetention: '1d' });
    expect(await store.tiers.listRetentions()).toEqual([{ workspaceId: 'ws_1', isolatedRetention: '1d' }]);
  });

  it('retention: least recently used first, and an entry read since it was picked is kept', async () => {
    await store.insertEntry(entry('old', { lastAccessAt: at(1) }));
    await store.insertEntry(entry('new', { lastAccessAt: at(2) }));
    const [oldest, next] = await store.retention.leastRecentlyUsed(10);
    expect([oldest?.lastAccessAt, next?.lastAccessAt]).toEqual([at(1), at(2)]);
    await store.touchEntryAccess('ws_1', SHARED_NAMESPACE, 'old', at(3));
    expect(await store.retention.deleteIfUntouched(oldest as NonNullable<typeof oldest>)).toBe(false);
    expect(await store.retention.deleteIfUntouched(next as NonNullable<typeof next>)).toBe(true);
    expect(await store.retention.blobKeyInUse(next?.blobKey ?? '')).toBe(false);
    expect(await store.retention.totalsPerWorkspace()).toEqual([{ workspaceId: 'ws_1', entries: 1, bytes: 10 }]);
  });

  it('ci identity: removes exchanged tokens past the cut-off, keeps the rest and the grants entries name', async () => {
    const grant = (tokenId: string, createdAt = at(0)) =>
      store.ciIdentity.insertGrant({
        tokenId,
        workspaceId: 'ws_1',
        policyId: 'pol_1',
        issuer: 'https://issuer.example.com',
        subject: 'repo:acme/web:ref:refs/heads/main',
        summary: `acme/web@${tokenId}`,
        claims: { run_id: '1' },
        createdAt,
      });
    const exchanged = async (id: string, expiresAt: string, createdAt = at(0)) => {
      await store.insertToken(token(id, { expiresAt, createdAt }));
      await grant(id, createdAt);
    };
    await exchanged('tok_gone', at(10));
    await exchanged('tok_writer', at(10));
    await store.insertEntry(entry('by-writer', { writerTokenId: 'tok_writer' }));
    await exchanged('tok_grace', at(50), at(40));
    await exchanged('tok_live', at(500), at(400));
    await store.insertToken(token('tok_plain_expired', { expiresAt: at(10) }));
    await store.insertToken(token('tok_plain', { expiresAt: null }));
    // A token already looked up by hash (the embedded store remembers it) must not outlive its row.
    expect((await store.findTokenByHash('hash-tok_gone'))?.id).toBe('tok_gone');

    expect(await store.ciIdentity.removeExpiredExchangedTokens(at(50))).toBe(2);
    expect(await store.findToken('tok_gone')).toBeUndefined();
    expect(await store.findTokenByHash('hash-tok_gone')).toBeUndefined();
    expect(await store.findToken('tok_writer')).toBeUndefined();
    const kept = ['tok_grace', 'tok_live', 'tok_plain_expired', 'tok_plain'];
    for (const id of kept) expect((await store.findToken(id))?.id).toBe(id);
    expect((await store.listTokens({ workspaceId: 'ws_1' })).map((t) => t.id).sort()).toEqual([...kept].sort());
    expect(await store.ciIdentity.findGrant('tok_gone')).toBeUndefined();
    // The entry still leads to the job that wrote it; live tokens keep their grants (no minting).
    expect(await store.ciIdentity.describeGrants(['tok_writer', 'tok_grace'])).toEqual(
      new Map([
        ['tok_writer', 'acme/web@tok_writer (run 1)'],
        ['tok_grace', 'acme/web@tok_grace (run 1)'],
      ]),
    );
    expect(await store.ciIdentity.removeExpiredExchangedTokens(at(50))).toBe(0);
    expect(await store.ciIdentity.findGrant('tok_writer')).toBeDefined();

    // Once the entry is gone, so is its writer's grant; a grant newer than the cut-off waits for its token.
    await store.tiers.removeEntries({ workspaceId: 'ws_1', tokenId: 'tok_writer' });
    await grant('tok_being_issued', at(60));
    expect(await store.ciIdentity.removeExpiredExchangedTokens(at(50))).toBe(0);
    expect(await store.ciIdentity.findGrant('tok_writer')).toBeUndefined();
    expect((await store.ciIdentity.findGrant('tok_being_issued'))?.summary).toBe('acme/web@tok_being_issued');
  });

  it('ci identity: forgets expired jtis, and still refuses a replay of one that has not expired', async () => {
    expect(await store.ciIdentity.claimJti('iss', 'a', at(5), at(0))).toBe(true);
    expect(await store.ciIdentity.claimJti('iss', 'b', at(60), at(0))).toBe(true);
    expect(await store.ciIdentity.forgetExpiredJtis(at(30))).toBe(1);
    expect(await store.ciIdentity.forgetExpiredJtis(at(30))).toBe(0);
    expect(await store.ciIdentity.claimJti('iss', 'b', at(60), at(30))).toBe(false);
  });

  it('web sign-in: sessions, single-use invites and login requests', async () => {
    await store.webAuth.setPasswordHash('usr_1', 'ph1', at(0));
    await store.webAuth.setPasswordHash('usr_1', 'ph2', at(1));
    expect(await store.webAuth.findPasswordHash('usr_1')).toBe('ph2');
    const session = { idHash: 's1', userId: 'usr_1', createdAt: at(0), lastSeenAt: at(0), expiresAt: at(60) };
    await store.webAuth.insertSession(session);
    await store.webAuth.touchSession('s1', at(3));
    expect(await store.webAuth.findSession('s1')).toEqual({ ...session, lastSeenAt: at(3) });
    await store.webAuth.deleteUserSessions('usr_1');
    expect(await store.webAuth.findSession('s1')).toBeUndefined();

    const invite = { codeHash: 'c1', orgId: 'org_1', role: 'member' as const, createdByUserId: 'usr_1' };
    await store.webAuth.insertInvite({ ...invite, createdAt: at(0), expiresAt: at(60), usedAt: null });
    const uses = await Promise.all([1, 2, 3].map(() => store.webAuth.markInviteUsed('c1', 'usr_1', at(1))));
    expect(uses.filter(Boolean)).toHaveLength(1);

    await store.webAuth.insertLoginRequest({
      id: 'lr1',
      userCode: 'ABCD-EFGH',
      deviceCodeHash: 'dc',
      hostname: 'laptop',
      workspaceId: null,
      createdAt: at(0),
      expiresAt: at(10),
      clientAddress: '127.0.0.1',
      userAgent: 'test',
      approvedByUserId: null,
      approvedAt: null,
      completedAt: null,
      tokenId: null,
    });
    expect(await store.webAuth.completeLoginRequest('lr1', at(1))).toBe(false);
    expect(await store.webAuth.approveLoginRequest('lr1', 'usr_1', at(1))).toBe(true);
    const polls = await Promise.all([1, 2].map(() => store.webAuth.completeLoginRequest('lr1', at(2))));
    expect(polls.filter(Boolean)).toHaveLength(1);
    expect((await store.webAuth.findLoginRequestByUserCode('ABCD-EFGH'))?.completedAt).toBe(at(2));
    expect(await store.webAuth.entriesPerDay(at(0), ['ws_1'])).toEqual([]);
  });

  it('tenancy: a bot is claimed by one organisation only', async () => {
    await store.insertOrganisation({ id: 'org_2', name: 'other', public: false, createdAt: at(0) });
    await store.insertUser({
      id: 'usr_bot',
      name: 'bot',
      bot: true,
      serverAdmin: false,
      ownerOrgId: null,
      createdAt: at(0),
    });
    const claims = await Promise.all(['org_1', 'org_2'].map((org) => store.tenancy.claimBot('usr_bot', org)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    await store.tenancy.insertInvitation({
      id: 'inv_1',
      orgId: 'org_2',
      userId: 'usr_1',
      role: 'member',
      createdByUserId: null,
      createdAt: at(0),
      expiresAt: at(60),
      answeredAt: null,
      accepted: null,
    });
    expect(await store.tenancy.answerInvitation('inv_1', true, at(1))).toBe(true);
    expect(await store.tenancy.answerInvitation('inv_1', false, at(2))).toBe(false);
    expect((await store.tenancy.findInvitation('inv_1'))?.accepted).toBe(true);
  });

  it('sign-in throttle: failures through one replica lock the account out on another, and a success clears it', async () => {
    let now = Date.UTC(2030, 0, 1);
    const policy = { freeAttempts: 5, baseLockMs: 30_000, maxLockMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };
    const [a, b] = [1, 2].map(() => new SharedThrottle('account', policy, store.webAuth, () => new Date(now)));
    if (a === undefined || b === undefined) throw new Error('two throttles');
    // Failures settled concurrently on both replicas all count.
    await Promise.all(
      [a, b, a, b, a].map(async (t) => {
        expect(await t.reserve('ada')).toBe(0);
        await t.settle('ada', 'failure');
      }),
    );
    expect(await b.reserve('ada')).toBe(30_000);
    expect(await a.reserve('ada')).toBe(30_000);
    expect(await a.reserve('bob')).toBe(0);
    await a.settle('bob', 'neutral');
    now += 30_000;
    expect(await b.reserve('ada')).toBe(0);
    await b.settle('ada', 'success');
    const again = await Promise.all([1, 2, 3, 4, 5].map(() => a.reserve('ada')));
    expect(again).toEqual([0, 0, 0, 0, 0]);
  });

  it('trust policies: who created each, a name once per workspace, found by id or name', async () => {
    const policy = (id: string, name: string) => ({
      id,
      workspaceId: 'ws_1',
      name,
      provider: 'github' as const,
      issuer: 'https://token.actions.githubusercontent.com',
      audience: 'https://cache',
      jwksUrl: 'https://token.actions.githubusercontent.com/.well-known/jwks',
      jwks: null,
      rules: [{ claims: { repository_id: '101' }, outcome: 'read-only' as const }],
      tokenLifetime: '1h',
      createdAt: at(1),
    });
    const identity = store.ciIdentity;
    expect(await identity.insertPolicy(policy('tp_1', 'github'), { tokenId: null, userId: 'usr_1' })).toBe('inserted');
    expect(await identity.insertPolicy(policy('tp_2', 'api'), { tokenId: 'tok_1', userId: null })).toBe('inserted');
    expect(await identity.insertPolicy(policy('tp_3', 'github'), { tokenId: null, userId: 'usr_1' })).toBe('exists');
    expect((await identity.listPolicies('ws_1')).map((p) => [p.id, p.createdByUserId, p.createdByTokenId])).toEqual([
      ['tp_1', 'usr_1', null],
      ['tp_2', null, 'tok_1'],
    ]);
    expect((await identity.findPolicy('ws_1', 'api'))?.rules).toEqual([
      { claims: { repository_id: '101' }, outcome: 'read-only' },
    ]);
    await identity.deletePolicy('tp_1');
    expect(await identity.findPolicy('ws_1', 'tp_1')).toBeUndefined();
  });

  it('form nonces: one use over every caller, and forgotten after their lifetime', async () => {
    const uses = await Promise.all([1, 2, 3].map(() => store.webAuth.useFormNonce('k1', at(1), at(0))));
    expect(uses.filter(Boolean)).toHaveLength(1);
    expect(await store.webAuth.useFormNonce('k2', at(1), at(0))).toBe(true);
    // Once used before the cut-off, a key is forgotten (its session has ended by then).
    expect(await store.webAuth.useFormNonce('k1', at(30), at(2))).toBe(true);
  });

  /** A task that runs until released; resolves `started` once it holds the name. */
  function heldTask(on: MetadataStore) {
    let release = (): void => undefined;
    let started = (): void => undefined;
    const running = new Promise<void>((r) => (started = r));
    const done = on.runExclusive(
      'sweep',
      () =>
        new Promise<string>((r) => {
          started();
          release = () => r('first');
        }),
    );
    return { running, done, release: () => release() };
  }

  it('runs one task of a name at a time, and the next after it ends', async () => {
    const { running, done: first, release } = heldTask(store);
    await running;
    expect(await store.runExclusive('sweep', async () => 'second')).toBeUndefined();
    expect(await store.runExclusive('other', async () => 'other')).toBe('other');
    release();
    expect(await first).toBe('first');
    expect(await store.runExclusive('sweep', async () => 'third')).toBe('third');
  });

  // Only where a second store is a session of its own (a real PostgreSQL server, as in .ci/postgres-tests).
  (backend.openReplica === undefined ? it.skip : it)('runs one task of a name at a time across replicas', async () => {
    const replica = await (backend.openReplica as () => Promise<MetadataStore>)();
    try {
      const { running, done: first, release } = heldTask(store);
      await running;
      expect(await replica.runExclusive('sweep', async () => 'replica')).toBeUndefined();
      release();
      expect(await first).toBe('first');
      expect(await replica.runExclusive('sweep', async () => 'replica')).toBe('replica');
    } finally {
      await replica.close();
    }
  });

  describe('run reports', () => {
    const run = (id: string, over: Partial<NewRun> = {}): NewRun => ({
      id,
      workspaceId: 'ws_1',
      reportedAt: at(10),
      startedAt: at(9),
      endedAt: at(10),
      client: 'plugin',
      nxVersion: '24.0.6',
      principalKind: 'ci',
      tokenId: 'tok_main',
      userId: null,
      reporter: 'CI token “main”',
      namespace: SHARED_NAMESPACE,
      readNamespaces: [SHARED_NAMESPACE],
      ...over,
    });
    const task = (project: string, hash: string, status: 'miss' | 'remote-hit' | 'local-hit', durationMs: number) => ({
      id: `${project}:build`,
      project,
      target: 'build',
      hash,
      status,
      durationMs,
    });

    it('counts hits, misses and time saved from the run that stored each hit', async () => {
      await store.runs.record(run('run_first'), [task('a', '111', 'miss', 4000), task('b', '222', 'miss', 2500)]);
      const second = await store.runs.record(run('run_second', { reportedAt: at(20) }), [
        task('a', '111', 'remote-hit', 30),
        task('b', '222', 'local-hit', 5),
        task('c', '333', 'remote-hit', 40),
      ]);
      expect(second).toMatchObject({
        tasks: 3,
        remoteHits: 2,
        localHits: 1,
        misses: 0,
        savedMs: 6500,
        savedUnknown: 1,
      });
      const found = await store.runs.findRun('ws_1', 'run_second');
      expect(found?.tasks.map((t) => [t.id, t.status, t.savedMs])).toEqual([
        ['a:build', 'remote-hit', 4000],
        ['b:build', 'local-hit', 2500],
        ['c:build', 'remote-hit', null],
      ]);
      expect(await store.runs.findRun('ws_other', 'run_second')).toBeUndefined();
      expect((await store.runs.listRuns('ws_1', 10)).map((r) => r.id)).toEqual(['run_second', 'run_first']);
      expect(await store.runs.dailyTotals(['ws_1'], '2030-01-01')).toEqual([
        { day: '2030-01-01', runs: 2, tasks: 5, hits: 3, misses: 2, failed: 0, savedMs: 6500, savedUnknown: 1 },
      ]);
      expect((await store.runs.workspaceTotals(['ws_1'], '2030-01-01')).get('ws_1')).toEqual({
        tasks: 5,
        hits: 3,
        misses: 2,
        failed: 0,
        savedMs: 6500,
        savedUnknown: 1,
      });
      expect(await store.runs.projectTotals('ws_1', '2030-01-01')).toEqual([
        { project: 'a', tasks: 2, hits: 1, misses: 1, failed: 0, savedMs: 4000, savedUnknown: 0 },
        { project: 'b', tasks: 2, hits: 1, misses: 1, failed: 0, savedMs: 2500, savedUnknown: 0 },
        { project: 'c', tasks: 1, hits: 1, misses: 0, failed: 0, savedMs: 0, savedUnknown: 1 },
      ]);
    });

    it('counts failed tasks apart from misses, in the run and in every total', async () => {
      const failing = { ...task('a', '111', 'miss', 900), status: 'failed' as const };
      const stored = await store.runs.record(run('run_failing'), [failing, task('b', '222', 'miss', 2500)]);
      expect(stored).toMatchObject({ tasks: 2, misses: 1, failed: 1 });
      expect((await store.runs.listRuns('ws_1', 1))[0]).toMatchObject({ misses: 1, failed: 1 });
      expect(await store.runs.dailyTotals(['ws_1'], '2030-01-01')).toMatchObject([{ tasks: 2, misses: 1, failed: 1 }]);
      expect((await store.runs.workspaceTotals(['ws_1'], '2030-01-01')).get('ws_1')).toMatchObject({
        misses: 1,
        failed: 1,
      });
      expect(await store.runs.projectTotals('ws_1', '2030-01-01')).toEqual([
        { project: 'a', tasks: 1, hits: 0, misses: 0, failed: 1, savedMs: 0, savedUnknown: 0 },
        { project: 'b', tasks: 1, hits: 0, misses: 1, failed: 0, savedMs: 0, savedUnknown: 0 },
      ]);
    });

    it("never takes a hit's original duration from a run in a namespace the hitting run cannot read", async () => {
      // An isolated PR token reports a huge duration for a hash main later hits: main's figures ignore it.
      await store.runs.record(
        run('run_pr', { tokenId: 'tok_pr', namespace: 't:tok_pr', readNamespaces: ['t:tok_pr', SHARED_NAMESPACE] }),
        [task('a', '111', 'miss', 600_000_000)],
      );
      const main = await store.runs.record(run('run_main', { reportedAt: at(20) }), [
        task('a', '111', 'remote-hit', 9),
      ]);
      expect(main).toMatchObject({ savedMs: 0, savedUnknown: 1 });
      // The PR token's own later run may count its own write.
      const again = await store.runs.record(
        run('run_pr2', {
          tokenId: 'tok_pr',
          namespace: 't:tok_pr',
          readNamespaces: ['t:tok_pr', SHARED_NAMESPACE],
          reportedAt: at(21),
        }),
        [task('a', '111', 'remote-hit', 9)],
      );
      expect(again).toMatchObject({ savedMs: 600_000_000, savedUnknown: 0 });
    });

    it('keeps 2000 tasks in one report, turns reports off and on, and drops reports past retention', async () => {
      const many = Array.from({ length: 2000 }, (_, i) => task(`p${i}`, String(i), 'miss', i));
      expect((await store.runs.record(run('run_big'), many)).tasks).toBe(2000);
      expect((await store.runs.findRun('ws_1', 'run_big'))?.tasks).toHaveLength(2000);
      expect(await store.runs.reportsEnabled('ws_1')).toBe(true);
      await store.runs.setReportsEnabled('ws_1', false);
      expect(await store.runs.reportsEnabled('ws_1')).toBe(false);
      expect(await store.runs.reportsEnabled('ws_missing')).toBe(false);
      await store.runs.record(run('run_new', { reportedAt: at(50) }), [task('a', '1', 'miss', 1)]);
      expect(await store.runs.deleteReportedBefore(at(30))).toBe(1);
      expect((await store.runs.listRuns('ws_1', 10)).map((r) => r.id)).toEqual(['run_new']);
      expect(await store.runs.findRun('ws_1', 'run_big')).toBeUndefined();
      expect(await store.runs.projectTotals('ws_1', '2000-01-01')).toEqual([
        { project: 'a', tasks: 1, hits: 0, misses: 1, failed: 0, savedMs: 0, savedUnknown: 0 },
      ]);
    });
  });
});
