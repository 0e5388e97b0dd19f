/**
 * The embedded store remembers the lookups every cache request makes, and forgets them on the next write
 * to their tables: a revocation, rotation, membership or access change is seen by the very next lookup.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { LookupCache, statementEffect, WriteGenerations } from '../../../src/server/metadata/lookup-cache';
import type { MetadataStore } from '../../../src/server/metadata/metadata-store';
import type { TokenRecord } from '../../../src/server/metadata/records';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { makeTempDir } from './test-server';

const AT = '2030-01-01T00:00:00.000Z';

describe('which statements count as writes', () => {
  it.each([
    ['select * from "tokens" where "token_hash" = ?', { kind: 'read' }],
    ['  SELECT 1', { kind: 'read' }],
    ['insert into "tokens" ("id") values (?)', { kind: 'write', table: 'tokens' }],
    ['insert or ignore into "users" ("id") values (?)', { kind: 'write', table: 'users' }],
    ['update "memberships" set "role" = ?', { kind: 'write', table: 'memberships' }],
    ['delete from "member_workspace_access" where 1', { kind: 'write', table: 'member_workspace_access' }],
    ['replace into "workspaces" values (?)', { kind: 'write', table: 'workspaces' }],
    ['with x as (select 1) delete from "tokens"', { kind: 'write', table: undefined }],
    ['create table "t" ("a" integer)', { kind: 'write', table: undefined }],
    ['pragma user_version = 3', { kind: 'write', table: undefined }],
    ['begin immediate', { kind: 'transaction-start' }],
    ['commit', { kind: 'transaction-end' }],
    ['rollback', { kind: 'transaction-end' }],
  ])('%s', (sqlText, effect) => {
    expect(statementEffect(sqlText)).toEqual(effect);
  });
});

describe('the lookup cache', () => {
  it('answers from memory until a write touches the table, and keeps no unknown answer', async () => {
    const generations = new WriteGenerations();
    const cache = new LookupCache(generations);
    let loads = 0;
    const load = async () => {
      loads += 1;
      return { n: loads };
    };
    expect(await cache.get('k', ['tokens'], load)).toEqual({ n: 1 });
    expect(await cache.get('k', ['tokens'], load)).toEqual({ n: 1 });
    generations.bump('users');
    expect(await cache.get('k', ['tokens'], load)).toEqual({ n: 1 });
    generations.bump('tokens');
    expect(await cache.get('k', ['tokens'], load)).toEqual({ n: 2 });
    generations.bump(undefined);
    expect(await cache.get('k', ['tokens'], load)).toEqual({ n: 3 });
    let misses = 0;
    const missing = async () => {
      misses += 1;
      return undefined;
    };
    await cache.get('unknown', ['tokens'], missing);
    await cache.get('unknown', ['tokens'], missing);
    expect(misses).toBe(2);
    // Kept when asked (cache entries): until the next write to the table.
    await cache.get('absent', ['entries'], missing, { keepMissing: true });
    await cache.get('absent', ['entries'], missing, { keepMissing: true });
    expect(misses).toBe(3);
    generations.bump('entries');
    await cache.get('absent', ['entries'], missing, { keepMissing: true });
    expect(misses).toBe(4);
  });

  it('does not keep what it read while a write to the table was under way', async () => {
    const generations = new WriteGenerations();
    const cache = new LookupCache(generations);
    let version = 1;
    const first = cache.get('k', ['tokens'], async () => {
      const seen = { version };
      // The write lands while the read's answer is on its way back.
      version = 2;
      generations.bump('tokens');
      return seen;
    });
    expect(await first).toEqual({ version: 1 });
    expect(await cache.get('k', ['tokens'], async () => ({ version }))).toEqual({ version: 2 });
  });

  it('hands out frozen records, so no caller changes what the next one gets', async () => {
    const cache = new LookupCache(new WriteGenerations());
    const record = (await cache.get('k', ['t'], async () => ({ name: 'a' }))) as { name: string };
    expect(() => {
      record.name = 'b';
    }).toThrow(TypeError);
  });

  it('keeps at most its size, dropping the oldest', async () => {
    const cache = new LookupCache(new WriteGenerations(), 2);
    let loads = 0;
    const load = async () => ({ n: ++loads });
    await cache.get('a', ['t'], load);
    await cache.get('b', ['t'], load);
    await cache.get('c', ['t'], load);
    expect(await cache.get('b', ['t'], load)).toEqual({ n: 2 });
    expect(await cache.get('a', ['t'], load)).toEqual({ n: 4 });
  });
});

describe('the embedded store, as the server opens it', () => {
  let dir: string;
  let store: MetadataStore;
  const token: TokenRecord = {
    id: 'tok_1',
    kind: 'personal',
    name: 't',
    tokenHash: 'h'.repeat(64),
    workspaceId: 'ws_1',
    userId: 'usr_1',
    access: 'read-write',
    tier: null,
    scope: null,
    createdAt: AT,
    createdByTokenId: null,
    expiresAt: null,
    revokedAt: null,
    rotatedAt: null,
    lastUsedAt: null,
  };

  beforeEach(async () => {
    dir = makeTempDir('nxsc-lookups-');
    store = await openSqliteMetadataStore(join(dir, 'metadata.sqlite'), { exclusive: true });
    await store.insertOrganisation({ id: 'org_1', name: 'acme', public: false, createdAt: AT });
    await store.insertUser({
      id: 'usr_1',
      name: 'ada',
      bot: false,
      serverAdmin: false,
      ownerOrgId: null,
      createdAt: AT,
    });
    await store.insertWorkspace({
      id: 'ws_1',
      orgId: 'org_1',
      name: 'mono',
      anonymousAccess: 'none',
      memberDefaultAccess: 'read',
      personalTokenTier: 'isolated',
      isolatedRetention: '7d',
      createdAt: AT,
    });
    await store.insertToken(token);
    await store.insertMembership({ orgId: 'org_1', userId: 'usr_1', role: 'member', createdAt: AT });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees a revocation, a rotation and an expiry at the next lookup', async () => {
    expect((await store.findTokenByHash(token.tokenHash))?.revokedAt).toBeNull();
    await store.revokeToken('tok_1', AT);
    expect((await store.findTokenByHash(token.tokenHash))?.revokedAt).toBe(AT);
    await store.replaceTokenHash('tok_1', 'n'.repeat(64), AT);
    expect(await store.findTokenByHash(token.tokenHash)).toBeUndefined();
    expect((await store.findTokenByHash('n'.repeat(64)))?.id).toBe('tok_1');
  });

  it('sees a membership, role, override and workspace access change at the next lookup', async () => {
    expect((await store.findMembership('org_1', 'usr_1'))?.role).toBe('member');
    await store.setMemberRole('org_1', 'usr_1', 'admin');
    expect((await store.findMembership('org_1', 'usr_1'))?.role).toBe('admin');
    expect(await store.findWorkspaceOverride('ws_1', 'usr_1')).toBeUndefined();
    await store.setWorkspaceOverride('ws_1', 'usr_1', 'read-write');
    expect((await store.findWorkspaceOverride('ws_1', 'usr_1'))?.access).toBe('read-write');
    await store.setWorkspaceOverride('ws_1', 'usr_1', undefined);
    expect(await store.findWorkspaceOverride('ws_1', 'usr_1')).toBeUndefined();
    expect((await store.findWorkspace('ws_1'))?.anonymousAccess).toBe('none');
    await store.updateWorkspaceAccess('ws_1', { anonymousAccess: 'read' });
    expect((await store.findWorkspace('ws_1'))?.anonymousAccess).toBe('read');
    await store.deleteMembership('org_1', 'usr_1');
    expect(await store.findMembership('org_1', 'usr_1')).toBeUndefined();
  });

  it('reports a failed statement with its own error, and runs the same statement again afterwards', async () => {
    const user = { id: 'usr_2', name: 'bob', bot: false, serverAdmin: false, ownerOrgId: null, createdAt: AT };
    await expect(store.insertUser({ ...user, createdAt: null as never })).rejects.toThrow(/NOT NULL constraint/);
    await store.insertUser(user);
    expect((await store.findUser('bob'))?.id).toBe('usr_2');
  });

  it('sees a stored, quarantined and deleted entry at the next lookup, though a miss was remembered', async () => {
    const entry = {
      workspaceId: 'ws_1',
      namespace: 'shared',
      hash: 'e'.repeat(40),
      blobKey: 'blob-e',
      size: 1,
      sha256: 'a'.repeat(64),
      writerTokenId: 'tok_1',
      writerUserId: null,
      createdAt: AT,
      lastAccessAt: AT,
    };
    expect(await store.findEntry('ws_1', 'shared', entry.hash)).toBeUndefined();
    await store.insertEntry(entry);
    expect((await store.findEntry('ws_1', 'shared', entry.hash))?.blobKey).toBe('blob-e');
    expect(await store.tiers.quarantineEntries({ workspaceId: 'ws_1' }, AT)).toBe(1);
    expect(await store.findEntry('ws_1', 'shared', entry.hash)).toBeUndefined();
    await store.insertEntry({ ...entry, hash: 'f'.repeat(40), blobKey: 'blob-f' });
    expect((await store.findEntry('ws_1', 'shared', 'f'.repeat(40)))?.blobKey).toBe('blob-f');
    expect(await store.tiers.removeEntries({ workspaceId: 'ws_1' })).toHaveLength(2);
    expect(await store.findEntry('ws_1', 'shared', 'f'.repeat(40))).toBeUndefined();
  });
});
