/**
 * The SSO identity re-check against a real SQLite store with a movable clock: without a refresh token
 * the identity lapses when no sign-in came within the interval (the organisation's, or the default 24h),
 * and its tokens stop; with one, a refusal from the provider stops them and a network failure does not.
 * The refresh-token box: sealed at rest, bound to its identity, and the server secret made owner-only.
 * (The real provider path is proven end to end in tests/e2e/sso/sso-cli-login.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetadataStore } from '../../../src/server/metadata/metadata-store';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { AuditLog } from '../../../src/server/services/audit-log';
import { RefreshRejected, type OidcFlow } from '../../../src/server/sso/oidc-flow';
import { loadServerSecret, RefreshTokenBox } from '../../../src/server/sso/refresh-token-box';
import type { SsoConfig } from '../../../src/server/sso/sso-config';
import { SsoRecheck } from '../../../src/server/sso/sso-recheck';
import { oidcProviderKey } from '../../../src/server/sso/sso-store';
import { issueTiedToken } from './tied-token';

const ISSUER = 'https://idp.example.com';
const REF = { provider: oidcProviderKey(ISSUER), subject: 'sub-1' };
const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;

let dir: string;
let store: MetadataStore;
let now: number;
let refreshAnswer: () => Promise<{ refreshToken: string | undefined }>;
let box: RefreshTokenBox;
let recheck: SsoRecheck;
let tokenId: string;

const config: SsoConfig = {
  publicUrl: 'https://cache.example.com',
  providers: [
    {
      id: 'corp',
      displayName: 'Corp',
      issuer: ISSUER,
      clientId: 'c',
      clientSecret: 's',
      algorithms: ['RS256'],
      scopes: ['openid'],
      refreshTokens: true,
    },
  ],
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nxsc-sso-recheck-'));
  store = await openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
  now = T0;
  const clock = () => new Date(now);
  const audit = new AuditLog(store, clock);
  refreshAnswer = async () => ({ refreshToken: undefined });
  const flow: OidcFlow = {
    begin: async () => {
      throw new Error('not used');
    },
    finish: async () => {
      throw new Error('not used');
    },
    refresh: async () => refreshAnswer(),
  };
  box = new RefreshTokenBox(loadServerSecret(dir));
  recheck = new SsoRecheck({ config, flow, sso: store.sso, store, audit, clock, box });
  const at = new Date(T0).toISOString();
  await store.insertOrganisation({ id: 'org_1', name: 'acme', public: false, createdAt: at });
  await store.insertUser({ id: 'usr_1', name: 'ann', bot: false, serverAdmin: false, ownerOrgId: null, createdAt: at });
  await store.insertMembership({ orgId: 'org_1', userId: 'usr_1', role: 'member', createdAt: at });
  await store.sso.linkIdentity('usr_1', ISSUER, 'sub-1', at);
  await store.sso.confirmIdentity(REF, null, null, at);
  tokenId = await issueTiedToken(store, audit, clock, REF);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const revokedAt = async (): Promise<string | null | undefined> => (await store.findToken(tokenId))?.revokedAt;
const failures = async () => (await store.listAudit({ limit: 100 })).filter((e) => e.action === 'sso.recheck-failed');

describe('without a refresh token', () => {
  it('keeps the token within the default 24 hours and revokes it, audited, once the sign-in lapsed', async () => {
    now = T0 + 23 * HOUR;
    expect(await recheck.run()).toEqual({ checked: 0, failed: 0, revokedTokens: 0 });
    expect(await revokedAt()).toBeNull();
    now = T0 + 24 * HOUR;
    expect(await recheck.run()).toEqual({ checked: 1, failed: 1, revokedTokens: 1 });
    expect(await revokedAt()).toBe(new Date(now).toISOString());
    const [event] = await failures();
    // An unbound token names no workspace, so no organisation: the event is in the server's log.
    expect(event?.orgId).toBeNull();
    expect(event?.details).toMatchObject({ provider: 'corp', reason: 'sign-in-lapsed', tokens: tokenId });
    // Stopped once: the next pass neither checks nor audits it again.
    now += HOUR;
    expect(await recheck.run()).toEqual({ checked: 0, failed: 0, revokedTokens: 0 });
    expect(await failures()).toHaveLength(1);
  });

  it("follows the organisation's shorter interval; a fresh sign-in within it keeps access", async () => {
    await store.sso.setPolicy('org_1', { requiredProvider: null, joinDomains: [], recheckIntervalSeconds: 3600 }, '');
    now = T0 + 50 * 60_000;
    await store.sso.confirmIdentity(REF, null, null, new Date(now).toISOString());
    now = T0 + 100 * 60_000;
    expect((await recheck.run()).failed).toBe(0);
    now = T0 + 111 * 60_000;
    expect(await recheck.run()).toEqual({ checked: 1, failed: 1, revokedTokens: 1 });
    expect(await revokedAt()).not.toBeNull();
  });
});

describe('with a refresh token', () => {
  beforeEach(async () => {
    await store.sso.confirmIdentity(REF, box.seal('rt-first', REF), null, new Date(T0).toISOString());
  });

  it('a successful refresh keeps the token and stores the rotated refresh token, sealed', async () => {
    const seen: string[] = [];
    refreshAnswer = async () => ({ refreshToken: 'rt-second' });
    const flow = (recheck as unknown as { deps: { flow: OidcFlow } }).deps.flow;
    const original = flow.refresh.bind(flow);
    flow.refresh = async (provider, token) => {
      seen.push(token);
      return original(provider, token);
    };
    now = T0 + 25 * HOUR;
    expect(await recheck.run()).toEqual({ checked: 1, failed: 0, revokedTokens: 0 });
    expect(seen).toEqual(['rt-first']);
    expect(await revokedAt()).toBeNull();
    const [identity] = await store.sso.identitiesToRecheck();
    expect(identity?.checkedAt).toBe(new Date(now).toISOString());
    expect(identity?.refreshTokenSealed).not.toContain('rt-second');
    expect(box.open(identity?.refreshTokenSealed as string, REF)).toBe('rt-second');
  });

  it('a refusal (invalid_grant) revokes the token at once; an unreachable provider stops nothing', async () => {
    refreshAnswer = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    expect(await recheck.run({ now: true })).toEqual({ checked: 1, failed: 0, revokedTokens: 0 });
    expect(await revokedAt()).toBeNull();
    refreshAnswer = async () => {
      throw new RefreshRejected('invalid_grant');
    };
    expect(await recheck.run({ now: true })).toEqual({ checked: 1, failed: 1, revokedTokens: 1 });
    expect(await revokedAt()).not.toBeNull();
    expect((await failures())[0]?.details).toMatchObject({ reason: 'refresh-refused:invalid_grant', revokedTokens: 1 });
  });
});

describe('RefreshTokenBox', () => {
  it('seals with a fresh nonce, opens only for the same identity and key', () => {
    const a = box.seal('rt-secret-value', REF);
    const b = box.seal('rt-secret-value', REF);
    expect(a).not.toBe(b);
    expect(a).not.toContain('rt-secret-value');
    expect(box.open(a, REF)).toBe('rt-secret-value');
    expect(box.open(a, { ...REF, subject: 'sub-2' })).toBeUndefined();
    const other = new RefreshTokenBox(Buffer.alloc(32, 7));
    expect(other.open(a, REF)).toBeUndefined();
    const altered = `${a.slice(0, -2)}${a.endsWith('AA') ? 'AB' : 'AA'}`;
    expect(box.open(altered, REF)).toBeUndefined();
  });

  it('the server secret is made once, owner-only, and read back the same', () => {
    const path = join(dir, 'server-secret');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const before = readFileSync(path, 'utf8');
    expect(loadServerSecret(dir).equals(Buffer.from(before.trim(), 'base64url'))).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });
});
