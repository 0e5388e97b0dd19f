/**
 * SCIM deprovisioning: the service on every store engine (SQLite, PostgreSQL), and the `/scim/v2` routes
 * on a real server. A provider's SCIM token is the only credential; deactivating (PATCH/PUT active false,
 * or DELETE) stops at once the tokens made through the identity the SCIM user names, ends its sessions,
 * and refuses its sign-ins until the provider reactivates it; bad requests change nothing.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetadataStore } from '../../../src/server/metadata/metadata-store';
import { AuditLog } from '../../../src/server/services/audit-log';
import { parseFilter, patchedFields, ScimService, SCIM_PATCH_SCHEMA } from '../../../src/server/sso/scim';
import type { SsoConfig, SsoProvider } from '../../../src/server/sso/sso-config';
import { oidcProviderKey } from '../../../src/server/sso/sso-store';
import { storeBackends } from '../server/store-backends';
import { makeTempDir, startTestServer, type TestServer } from '../server/test-server';
import { issueTiedToken as issueTied } from './tied-token';

const ISSUER = 'https://idp.example.com';
const SCIM_TOKEN = 'scim-token-7f3a9c1e5b8d2f4a6c0e9b7d5f3a1c8e';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

const provider = (subjectFrom: 'externalId' | 'userName' = 'externalId', matchEmail = false): SsoProvider => ({
  id: 'corp',
  displayName: 'Corp',
  issuer: ISSUER,
  clientId: 'c',
  clientSecret: 's',
  algorithms: ['RS256'],
  scopes: ['openid'],
  refreshTokens: false,
  scim: { tokenDigest: createHash('sha256').update(SCIM_TOKEN).digest(), subjectFrom, matchEmail },
});

describe('parseFilter and patchedFields', () => {
  it('reads the two filters providers send, with escaped quotes; refuses every other filter', () => {
    expect(parseFilter('userName eq "ann@acme.test"')).toEqual({ attribute: 'userName', value: 'ann@acme.test' });
    expect(parseFilter('externalId eq "00u\\"1"')).toEqual({ attribute: 'externalId', value: '00u"1' });
    expect(parseFilter(undefined)).toBeUndefined();
    for (const bad of ['userName co "a"', 'userName eq "a" or active eq true', 'emails eq "x"', 'userName eq a'])
      expect(() => parseFilter(bad)).toThrow(/only the filters/);
  });

  const base = { userName: 'ann@acme.test', externalId: 'sub-1', emails: [], active: true };
  it("applies Okta's and Entra ID's deactivation forms and ignores attributes nothing here keeps", () => {
    const okta = { schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: false } }] };
    expect(patchedFields(base, okta).active).toBe(false);
    const entra = {
      schemas: [SCIM_PATCH_SCHEMA],
      Operations: [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Add', path: 'name.givenName', value: 'Ann' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'ann@acme.test' },
      ],
    };
    expect(patchedFields(base, entra)).toEqual({ ...base, active: false, emails: ['ann@acme.test'] });
  });

  it('refuses a body without the PatchOp schema, an unknown op, a bad active value, removing userName', () => {
    const ops = (o: unknown[]) => ({ schemas: [SCIM_PATCH_SCHEMA], Operations: o });
    expect(() => patchedFields(base, { Operations: [{ op: 'replace', path: 'active', value: false }] })).toThrow(
      /PatchOp/,
    );
    expect(() => patchedFields(base, ops([{ op: 'move', path: 'active' }]))).toThrow(/unknown op/);
    expect(() => patchedFields(base, ops([{ op: 'replace', path: 'active', value: 'nope' }]))).toThrow(/true or false/);
    expect(() => patchedFields(base, ops([{ op: 'remove', path: 'userName' }]))).toThrow(/cannot be removed/);
    expect(() => patchedFields(base, ops([]))).toThrow(/1 to 50/);
    expect(() => patchedFields(base, ops([{ op: 'replace', path: 'userName', value: 'a\u0000b' }]))).toThrow(
      /control characters/,
    );
  });
});

describe.each(storeBackends())('ScimService on $name', (backend) => {
  let store: MetadataStore;
  let now: number;
  let audit: AuditLog;
  const clock = () => new Date(now);
  const at = () => new Date(now).toISOString();
  const REF = { provider: oidcProviderKey(ISSUER), subject: 'sub-1' };

  // Starting PGlite takes seconds, as in metadata-store.test.ts.
  beforeAll(() => backend.setUp(), 60_000);
  afterAll(() => backend.tearDown());
  beforeEach(async () => {
    store = await backend.open();
    now = T0;
    audit = new AuditLog(store, clock);
    await store.insertOrganisation({ id: 'org_1', name: 'acme', public: false, createdAt: at() });
    await store.insertUser({
      id: 'usr_1',
      name: 'ann',
      bot: false,
      serverAdmin: false,
      ownerOrgId: null,
      createdAt: at(),
    });
    await store.insertMembership({ orgId: 'org_1', userId: 'usr_1', role: 'member', createdAt: at() });
    await store.sso.linkIdentity('usr_1', ISSUER, 'sub-1', at());
    await store.sso.confirmIdentity(REF, null, 'ann@acme.test', at());
  });
  afterEach(() => store.close());

  const service = (p: SsoProvider): ScimService =>
    new ScimService({
      config: { publicUrl: 'https://cache.example.com', providers: [p] } as SsoConfig,
      store,
      audit,
      clock,
    });
  const issueTiedToken = (): Promise<string> => issueTied(store, audit, clock, REF);
  const revokedAt = async (id: string) => (await store.findToken(id))?.revokedAt ?? null;
  const actions = async () => (await store.listAudit({ limit: 100 })).map((e) => e.action).reverse();

  it('provisions, lists by filter and pages; a second user of the same userName (any case) is a conflict', async () => {
    const scim = service(provider());
    const p = provider() as SsoProvider & { scim: NonNullable<SsoProvider['scim']> };
    const ann = await scim.create(p, {
      userName: 'ann@acme.test',
      externalId: 'sub-1',
      emails: [{ value: 'ann@acme.test' }],
    });
    await scim.create(p, { userName: 'bob@acme.test', externalId: 'sub-2' });
    expect(ann).toMatchObject({ active: true, userName: 'ann@acme.test', externalId: 'sub-1' });
    expect(ann.id).toMatch(/^scim_/);
    const found = await scim.list(p, { filter: 'userName eq "ANN@acme.test"' });
    expect(found).toMatchObject({ totalResults: 1, itemsPerPage: 1, startIndex: 1 });
    expect((found.Resources as { id: string }[])[0]?.id).toBe(ann.id);
    expect(await scim.list(p, { startIndex: '2', count: '1' })).toMatchObject({ totalResults: 2, itemsPerPage: 1 });
    expect(await scim.list(p, { count: '0' })).toMatchObject({ totalResults: 2, itemsPerPage: 0 });
    await expect(scim.create(p, { userName: 'Ann@Acme.test' })).rejects.toMatchObject({ code: 'ERR_SCIM_CONFLICT' });
    await expect(scim.get(p, 'scim_doesnotexist0')).rejects.toMatchObject({ code: 'ERR_SCIM_NOT_FOUND' });
    expect(await actions()).toEqual(['scim.provisioned', 'scim.provisioned']);
  });

  it('deactivation stops the tokens made through the identity at once; reactivation lets it sign in again but revives nothing', async () => {
    const p = provider() as SsoProvider & { scim: NonNullable<SsoProvider['scim']> };
    const scim = service(p);
    const tokenId = await issueTiedToken();
    const ann = await scim.create(p, { userName: 'ann@acme.test', externalId: 'sub-1' });
    expect(await revokedAt(tokenId)).toBeNull();
    now += 60_000;
    const off = { schemas: [SCIM_PATCH_SCHEMA], Operations: [{ op: 'replace', value: { active: false } }] };
    const updated = await scim.update(p, ann.id, (c) => patchedFields(c, off));
    expect(updated.active).toBe(false);
    expect(await revokedAt(tokenId)).toBe(at());
    const events = await store.listAudit({ limit: 100 });
    const stopped = events.find((e) => e.action === 'scim.deactivated');
    expect(stopped?.orgId).toBeNull();
    expect(stopped?.details).toMatchObject({ provider: 'corp', scimUser: ann.id, revokedTokens: 1, tokens: tokenId });
    const rule = { providerKey: REF.provider, subjectFrom: 'externalId' as const, matchEmail: false };
    expect(await store.scim.deactivatedFor('corp', rule, { subject: 'sub-1', email: null })).toBeDefined();
    // The same PATCH again changes nothing and audits nothing more.
    await scim.update(p, ann.id, (c) => patchedFields(c, off));
    expect((await store.listAudit({ limit: 100 })).filter((e) => e.action === 'scim.deactivated')).toHaveLength(1);
    await scim.update(p, ann.id, (c) => ({ ...c, active: true }));
    expect(await store.scim.deactivatedFor('corp', rule, { subject: 'sub-1', email: null })).toBeUndefined();
    expect(await revokedAt(tokenId)).not.toBeNull();
    expect(await actions()).toEqual(['token.created', 'scim.provisioned', 'scim.deactivated', 'scim.reactivated']);
  });

  it('a SCIM user names its identity only by the configured attribute; by email only when asked', async () => {
    const byExternalId = provider('externalId') as SsoProvider & { scim: NonNullable<SsoProvider['scim']> };
    const tokenId = await issueTiedToken();
    // externalId is some other directory id, userName the address: no identity is named, nothing stops.
    const other = await service(byExternalId).create(byExternalId, {
      userName: 'ann@acme.test',
      externalId: 'directory-id-9',
      active: false,
    });
    expect(await revokedAt(tokenId)).toBeNull();
    expect((await store.listAudit({ limit: 10 })).find((e) => e.action === 'scim.deactivated')?.details).toMatchObject({
      linkedIdentities: 0,
    });
    await service(byExternalId).remove(byExternalId, other.id);
    // With matchEmail, the verified address of the identity's last sign-in names it.
    const byEmail = provider('externalId', true) as SsoProvider & { scim: NonNullable<SsoProvider['scim']> };
    await service(byEmail).create(byEmail, {
      userName: 'ANN@acme.test',
      externalId: 'directory-id-9',
      active: false,
    });
    expect(await revokedAt(tokenId)).not.toBeNull();
  });

  it('DELETE stops access like a deactivation, hides the user, frees its userName, and keeps sign-ins refused', async () => {
    const p = provider() as SsoProvider & { scim: NonNullable<SsoProvider['scim']> };
    const scim = service(p);
    const tokenId = await issueTiedToken();
    const ann = await scim.create(p, { userName: 'ann@acme.test', externalId: 'sub-1' });
    await scim.remove(p, ann.id);
    expect(await revokedAt(tokenId)).not.toBeNull();
    await expect(scim.get(p, ann.id)).rejects.toMatchObject({ code: 'ERR_SCIM_NOT_FOUND' });
    expect((await scim.list(p, {})).totalResults).toBe(0);
    const rule = { providerKey: REF.provider, subjectFrom: 'externalId' as const, matchEmail: false };
    expect(await store.scim.deactivatedFor('corp', rule, { subject: 'sub-1', email: null })).toBeDefined();
    const again = await scim.create(p, { userName: 'ann@acme.test', externalId: 'sub-1b' });
    expect(again.id).not.toBe(ann.id);
  });
});

describe('/scim/v2 on a real server', () => {
  let ts: TestServer;
  const ENV = 'NXSC_TEST_SCIM_TOKEN';
  const scimHeaders = { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' };

  beforeAll(async () => {
    const dir = makeTempDir('nxsc-scim-');
    const ssoConfig = join(dir, 'sso.json');
    writeFileSync(
      ssoConfig,
      JSON.stringify({
        publicUrl: 'https://cache.example.com',
        providers: [
          {
            id: 'corp',
            displayName: 'Corp',
            issuer: ISSUER,
            clientId: 'c',
            clientSecretEnv: 'NXSC_TEST_CLIENT_SECRET',
            scim: { tokenEnv: ENV },
          },
        ],
      }),
    );
    process.env[ENV] = SCIM_TOKEN;
    process.env.NXSC_TEST_CLIENT_SECRET = 'client-secret';
    ts = await startTestServer({ config: { ssoConfig } });
  });
  afterAll(async () => {
    await ts.stop();
    delete process.env[ENV];
    delete process.env.NXSC_TEST_CLIENT_SECRET;
  });

  const call = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    headers = scimHeaders,
  ) =>
    ts.server.app.inject({
      method,
      url,
      headers,
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  it('refuses a missing, wrong or cache token with a SCIM 401 and the stable code; reads and changes nothing', async () => {
    for (const authorization of [
      undefined,
      'Bearer wrong-token-of-the-same-shape-000000000',
      `Bearer ${ts.adminToken}`,
    ]) {
      const headers = { 'content-type': 'application/scim+json', ...(authorization ? { authorization } : {}) };
      const response = await call('POST', '/scim/v2/Users', { userName: 'x@acme.test' }, headers as typeof scimHeaders);
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toContain('application/scim+json');
      expect(response.headers['www-authenticate']).toBe('Bearer realm="scim"');
      expect(response.json()).toMatchObject({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '401',
        detail: expect.stringMatching(/^ERR_SCIM_UNAUTHORIZED: /),
      });
    }
    expect((await call('GET', '/scim/v2/Users')).json()).toMatchObject({ totalResults: 0 });
  });

  it('creates, finds, patches and deletes a user in SCIM form', async () => {
    const created = await call('POST', '/scim/v2/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'ann@acme.test',
      externalId: 'sub-1',
      name: { givenName: 'Ann' },
      emails: [{ value: 'ann@acme.test', primary: true, type: 'work' }],
    });
    expect(created.statusCode).toBe(201);
    const user = created.json() as { id: string; meta: { location: string } };
    expect(created.headers.location).toBe(`https://cache.example.com/scim/v2/Users/${user.id}`);
    expect(user.meta.location).toBe(created.headers.location);
    const found = await call('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "ann@acme.test"')}`);
    expect(found.json()).toMatchObject({ totalResults: 1, Resources: [{ id: user.id, active: true }] });
    const patched = await call('PATCH', `/scim/v2/Users/${user.id}`, {
      schemas: [SCIM_PATCH_SCHEMA],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: user.id, active: false });
    const put = await call('PUT', `/scim/v2/Users/${user.id}`, {
      userName: 'ann@acme.test',
      externalId: 'sub-1',
      active: true,
    });
    expect(put.json()).toMatchObject({ active: true });
    expect((await call('DELETE', `/scim/v2/Users/${user.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/scim/v2/Users/${user.id}`)).statusCode).toBe(404);
    const config = await call('GET', '/scim/v2/ServiceProviderConfig');
    expect(config.json()).toMatchObject({ patch: { supported: true }, bulk: { supported: false } });
  });

  it('answers bad requests with a SCIM 400 and the stable code, and stores nothing', async () => {
    const cases: [string, unknown, string][] = [
      ['not json', '{"userName":', 'invalidSyntax'],
      ['no userName', { externalId: 'x' }, 'invalidValue'],
      ['userName not a string', { userName: 42 }, 'invalidValue'],
      ['userName too long', { userName: 'a'.repeat(600) }, 'invalidValue'],
      ['active not boolean', { userName: 'z@acme.test', active: 'maybe' }, 'invalidValue'],
      ['an array', [], 'invalidSyntax'],
    ];
    for (const [, body, scimType] of cases) {
      const response = await call('POST', '/scim/v2/Users', body);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ scimType, detail: expect.stringMatching(/^ERR_SCIM_INVALID: /) });
    }
    const filter = await call('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName sw "a"')}`);
    expect(filter.json()).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    const big = await call('POST', '/scim/v2/Users', { userName: 'big@acme.test', pad: 'x'.repeat(70 * 1024) });
    expect(big.statusCode).toBe(400);
    expect(big.json()).toMatchObject({ detail: expect.stringMatching(/^ERR_INPUT_INVALID: .*too large/i) });
    expect((await call('GET', '/scim/v2/Users')).json()).toMatchObject({ totalResults: 0 });
    expect((await call('GET', '/scim/v2/Users/../../api/v1/stats')).statusCode).toBe(404);
  });

  it('answers other SCIM resources with a SCIM 404', async () => {
    const response = await call('GET', '/scim/v2/Groups');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ detail: expect.stringMatching(/^ERR_NOT_FOUND: /) });
  });
});
