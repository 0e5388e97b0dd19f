/**
 * The SSO config loader and the sign-in service, with a stand-in for the provider's side (OidcFlow) and
 * the real SQLite store: secrets never reach an error, an attempt works once and only in the browser
 * that started it, and a provider identity links by issuer + sub, not by email.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealedCacheError } from '../../../src/errors';
import type { MetadataStore } from '../../../src/server/metadata/metadata-store';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { AuditLog } from '../../../src/server/services/audit-log';
import type { IdentityClaims, OidcFlow } from '../../../src/server/sso/oidc-flow';
import { loadSsoConfig, type SsoConfig } from '../../../src/server/sso/sso-config';
import { SsoService } from '../../../src/server/sso/sso-sign-in';

const SECRET = 'do-not-print-this-secret-42';
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nxsc-sso-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(provider: Record<string, unknown>): string {
  const file = join(dir, 'sso.json');
  writeFileSync(
    file,
    JSON.stringify({
      publicUrl: 'https://cache.example.com/',
      providers: [{ id: 'corp', displayName: 'Corp', issuer: 'https://idp.example.com', clientId: 'c', ...provider }],
    }),
  );
  return file;
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (isSealedCacheError(err, 'ERR_CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected ERR_CONFIG_INVALID');
}

describe('loadSsoConfig', () => {
  it('reads the client secret from an env var or a file, and trims the public URL', () => {
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    expect(loadSsoConfig(writeConfig({ clientSecretFile: secretFile }), {}).providers[0]?.clientSecret).toBe(SECRET);
    const fromEnv = loadSsoConfig(writeConfig({ clientSecretEnv: 'CORP_SECRET' }), { CORP_SECRET: SECRET });
    expect(fromEnv.providers[0]).toMatchObject({ clientSecret: SECRET, algorithms: ['RS256'] });
    expect(fromEnv.publicUrl).toBe('https://cache.example.com');
  });

  it('refuses a secret written into the file itself, both sources, or a missing env var, without echoing a secret', () => {
    expect(configError(() => loadSsoConfig(writeConfig({ clientSecret: SECRET }), {}))).not.toContain(SECRET);
    expect(
      configError(() => loadSsoConfig(writeConfig({ clientSecretEnv: 'A', clientSecretFile: '/x' }), { A: SECRET })),
    ).toMatch(/exactly one of clientSecretFile and clientSecretEnv/);
    expect(configError(() => loadSsoConfig(writeConfig({ clientSecretEnv: 'MISSING' }), {}))).toMatch(
      /env MISSING is not set/,
    );
  });

  it('refuses a plain-http issuer off loopback and an HMAC or none algorithm', () => {
    expect(
      configError(() =>
        loadSsoConfig(writeConfig({ issuer: 'http://idp.example.com', clientSecretEnv: 'S' }), { S: SECRET }),
      ),
    ).toMatch(/must be https/);
    for (const alg of ['HS256', 'none'])
      expect(() => loadSsoConfig(writeConfig({ algorithms: [alg], clientSecretEnv: 'S' }), { S: SECRET })).toThrow(
        /algorithms/,
      );
  });
});

describe('SsoService', () => {
  let store: MetadataStore;
  let service: SsoService;
  let claims: IdentityClaims;
  const config: SsoConfig = {
    publicUrl: 'https://cache.example.com',
    providers: [
      {
        id: 'corp',
        displayName: 'Corp',
        issuer: 'https://idp.example.com',
        clientId: 'c',
        clientSecret: SECRET,
        algorithms: ['RS256'],
        scopes: ['openid'],
        refreshTokens: false,
      },
    ],
  };
  let states = 0;
  const flow: OidcFlow = {
    begin: async () => {
      const state = `state-${++states}`;
      return { url: `https://idp.example.com/auth?state=${state}`, state, nonce: 'n', codeVerifier: 'v' };
    },
    finish: async () => claims,
    refresh: async () => ({ refreshToken: undefined }),
  };
  const callback = (url: string) =>
    new URL(`https://cache.example.com/cb?code=x&state=${new URL(url).searchParams.get('state')}`);
  const code = async (run: () => Promise<unknown>): Promise<string> => {
    try {
      await run();
    } catch (err) {
      if (isSealedCacheError(err)) return err.code;
      throw err;
    }
    return 'none';
  };

  const clock = () => new Date('2026-01-01T00:00:00Z');
  const serviceWith = (withConfig: SsoConfig): SsoService =>
    new SsoService({
      config: withConfig,
      flow,
      sso: store.sso,
      store,
      audit: new AuditLog(store, clock),
      clock,
      box: undefined,
    });

  beforeEach(async () => {
    store = await openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    service = serviceWith(config);
    await store.insertOrganisation({ id: 'org_1', name: 'acme', public: false, createdAt: clock().toISOString() });
    claims = {
      issuer: 'https://idp.example.com',
      subject: 'sub-1',
      email: 'Ann@Acme.com',
      emailVerified: true,
      name: undefined,
      refreshToken: undefined,
    };
  });
  afterEach(async () => store.close());

  it('a callback completes only in the browser that started it, and only once', async () => {
    await service.setPolicy(
      'org_1',
      { requiredProvider: null, joinDomains: [{ domain: 'acme.com', role: 'admin' }] },
      { tokenId: null, userId: null },
    );
    const url = await service.begin('corp', 'browser-a', '/ui/tokens');
    expect(await code(() => service.complete('corp', callback(url), 'browser-b'))).toBe('ERR_WEB_SSO_FAILED');
    // The mismatch used the attempt up: the right browser cannot finish it afterwards either.
    expect(await code(() => service.complete('corp', callback(url), 'browser-a'))).toBe('ERR_WEB_SSO_FAILED');
    const second = await service.begin('corp', 'browser-a', '/ui/tokens');
    const joined = await service.complete('corp', callback(second), 'browser-a');
    expect(joined).toMatchObject({ joined: true, user: { name: 'Ann' } });
    expect(await store.findMembership('org_1', joined.user.id)).toMatchObject({ role: 'admin' });
  });

  it('a person the provider deactivated over SCIM cannot sign in, until the provider reactivates them', async () => {
    const scimProvider = {
      ...config.providers[0]!,
      scim: { tokenDigest: Buffer.alloc(32), subjectFrom: 'externalId' as const, matchEmail: false },
    };
    const scimService = serviceWith({ ...config, providers: [scimProvider] });
    await scimService.setPolicy(
      'org_1',
      { requiredProvider: null, joinDomains: [{ domain: 'acme.com', role: 'member' }] },
      { tokenId: null, userId: null },
    );
    const signIn = async () =>
      scimService.complete('corp', callback(await scimService.begin('corp', 'b', '/ui/tokens')), 'b');
    const joined = await signIn();
    const at = clock().toISOString();
    const user = {
      id: 'scim_0123456789abcdef',
      providerId: 'corp',
      userName: 'ann@acme.com',
      externalId: 'sub-1',
      emails: [],
      active: false,
      createdAt: at,
      updatedAt: at,
      deactivatedAt: at,
    };
    await store.scim.insertUser(user);
    expect(await code(signIn)).toBe('ERR_WEB_SSO_NOT_ALLOWED');
    const refused = (await store.listAudit({ limit: 10 })).find((e) => e.action === 'sso.refused');
    expect(refused?.details).toMatchObject({ provider: 'corp', reason: 'deprovisioned' });
    await store.scim.updateUser('corp', user.id, { ...user, active: true }, at);
    expect((await signIn()).user.id).toBe(joined.user.id);
  });

  it('links by issuer + sub: the same email from another subject does not reach the account', async () => {
    await service.setPolicy(
      'org_1',
      { requiredProvider: null, joinDomains: [{ domain: 'acme.com', role: 'member' }] },
      { tokenId: null, userId: null },
    );
    const first = await service.complete('corp', callback(await service.begin('corp', 'b', '/ui/tokens')), 'b');
    claims = { ...claims, subject: 'sub-2' };
    const other = await service.complete('corp', callback(await service.begin('corp', 'b', '/ui/tokens')), 'b');
    expect(other.user.id).not.toBe(first.user.id);
    expect(other.user.name).toBe('Ann-2');
  });

  it('a domain claimed by one organisation cannot be claimed by another', async () => {
    await store.insertOrganisation({ id: 'org_2', name: 'rival', public: false, createdAt: '2026-01-01T00:00:00Z' });
    await service.setPolicy(
      'org_1',
      { requiredProvider: null, joinDomains: [{ domain: 'acme.com', role: 'member' }] },
      { tokenId: null, userId: null },
    );
    expect(
      await code(() =>
        service.setPolicy(
          'org_2',
          { requiredProvider: null, joinDomains: [{ domain: 'acme.com', role: 'admin' }] },
          { tokenId: null, userId: null },
        ),
      ),
    ).toBe('ERR_INPUT_INVALID');
    expect(
      await code(() =>
        service.setPolicy('org_1', { requiredProvider: 'nope', joinDomains: [] }, { tokenId: null, userId: null }),
      ),
    ).toBe('ERR_NOT_FOUND');
  });
});
