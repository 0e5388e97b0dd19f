import { randomBytes } from 'node:crypto';
import { api, http, startTestServer, type TestServer } from './test-server';

type Level = 'none' | 'read' | 'read-write';
interface Row {
  name: string;
  orgPublic?: boolean;
  anonymous?: Level;
  memberDefault?: 'read' | 'read-write';
  principal: 'anonymous' | 'ci-read' | 'ci-read-write' | 'member' | 'non-member' | 'admin';
  tokenCap?: 'read' | 'read-write';
  override?: Level;
  role?: 'admin' | 'member';
  get: number;
  put: number;
  code?: string;
}

const rows: Row[] = [
  {
    name: 'anonymous, workspace anonymous none',
    principal: 'anonymous',
    anonymous: 'none',
    get: 401,
    put: 401,
    code: 'ERR_AUTH_ANONYMOUS_DENIED',
  },
  { name: 'anonymous, workspace anonymous read', principal: 'anonymous', anonymous: 'read', get: 404, put: 403 },
  {
    name: 'anonymous, workspace anonymous read-write',
    principal: 'anonymous',
    anonymous: 'read-write',
    get: 404,
    put: 200,
  },
  { name: 'CI read token', principal: 'ci-read', get: 404, put: 403 },
  { name: 'CI read-write token', principal: 'ci-read-write', get: 404, put: 200 },
  {
    name: 'CI read token ignores anonymous read-write',
    principal: 'ci-read',
    anonymous: 'read-write',
    get: 404,
    put: 403,
  },
  { name: 'member, default read', principal: 'member', memberDefault: 'read', get: 404, put: 403 },
  { name: 'member, default read-write', principal: 'member', memberDefault: 'read-write', get: 404, put: 200 },
  {
    name: 'member, default read-write, token capped at read',
    principal: 'member',
    memberDefault: 'read-write',
    tokenCap: 'read',
    get: 404,
    put: 403,
  },
  {
    name: 'member, override none beats default read-write',
    principal: 'member',
    memberDefault: 'read-write',
    override: 'none',
    get: 401,
    put: 401,
    code: 'ERR_AUTH_READ_DENIED',
  },
  {
    name: 'member, override read-write beats default read',
    principal: 'member',
    memberDefault: 'read',
    override: 'read-write',
    get: 404,
    put: 200,
  },
  {
    name: 'member, override read beats default read-write',
    principal: 'member',
    memberDefault: 'read-write',
    override: 'read',
    get: 404,
    put: 403,
  },
  {
    name: 'org admin member, default read',
    principal: 'member',
    role: 'admin',
    memberDefault: 'read',
    get: 404,
    put: 403,
  },
  { name: 'non-member, private org', principal: 'non-member', get: 401, put: 401, code: 'ERR_AUTH_NOT_MEMBER' },
  {
    name: 'non-member, private org with anonymous read-write',
    principal: 'non-member',
    anonymous: 'read-write',
    get: 401,
    put: 401,
    code: 'ERR_AUTH_NOT_MEMBER',
  },
  { name: 'non-member, public org', principal: 'non-member', orgPublic: true, get: 404, put: 403 },
  {
    name: 'non-member, public org, member default read-write',
    principal: 'non-member',
    orgPublic: true,
    memberDefault: 'read-write',
    get: 404,
    put: 403,
  },
  {
    name: 'admin token on the cache',
    principal: 'admin',
    anonymous: 'read-write',
    get: 401,
    put: 401,
    code: 'ERR_AUTH_TOKEN_KIND_REFUSED',
  },
];

describe('cache permission matrix (token kind x workspace policy x anonymous level x read/write)', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer();
  });
  afterAll(() => ts.stop());

  async function setUp(row: Row): Promise<{ wsId: string; token: string | undefined }> {
    const suffix = randomBytes(4).toString('hex');
    const org = await api<{ id: string }>(ts, 'POST', '/orgs', {
      name: `org-${suffix}`,
      public: row.orgPublic ?? false,
    });
    const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', {
      org: org.id,
      name: 'ws',
      anonymousAccess: row.anonymous ?? 'none',
      memberDefaultAccess: row.memberDefault ?? 'read',
    });
    switch (row.principal) {
      case 'anonymous':
        return { wsId: ws.id, token: undefined };
      case 'admin':
        return { wsId: ws.id, token: ts.adminToken };
      case 'ci-read':
      case 'ci-read-write': {
        const access = row.principal === 'ci-read' ? 'read' : 'read-write';
        return {
          wsId: ws.id,
          token: (await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: ws.id, access }))
            .token,
        };
      }
      case 'member':
      case 'non-member': {
        const user = await api<{ id: string }>(ts, 'POST', '/users', { name: `user-${suffix}` });
        if (row.principal === 'member') {
          await api(ts, 'POST', `/orgs/${org.id}/members`, { user: user.id, role: row.role ?? 'member' });
          if (row.override)
            await api(ts, 'PATCH', `/orgs/${org.id}/members/${user.id}`, { workspace: ws.id, access: row.override });
        }
        const token = await api<{ token: string }>(ts, 'POST', '/tokens', {
          kind: 'personal',
          user: user.id,
          access: row.tokenCap ?? 'read-write',
        });
        return { wsId: ws.id, token: token.token };
      }
    }
  }

  it.each(rows)('$name: GET $get, PUT $put', async (row) => {
    const { wsId, token } = await setUp(row);
    const base = `${ts.url}/w/${wsId}/v1/cache`;
    const get = await http(`${base}/1234`, { token });
    const put = await http(`${base}/5678`, { method: 'PUT', token, raw: Buffer.from('payload') });
    expect([get.status, put.status]).toEqual([row.get, row.put]);
    if (row.code) {
      expect(get.headers['content-type']).toBe('text/plain');
      expect(get.text).toContain(row.code);
    }
    // Stored in whichever tier the credential writes to (tiers*.test.ts checks which).
    const stored = (await ts.server.context.store.tiers.listEntries({ workspaceId: wsId }, 10)).filter(
      (e) => e.hash === '5678',
    );
    expect(stored.map((e) => e.size)).toEqual(row.put === 200 ? [7] : []);
  });

  it('refuses a URL workspace different from the token binding (ERR_AUTH_WORKSPACE_MISMATCH)', async () => {
    const a = await setUp({ name: 'a', principal: 'ci-read-write', get: 0, put: 0 });
    const b = await setUp({ name: 'b', principal: 'ci-read-write', get: 0, put: 0 });
    const res = await http(`${ts.url}/w/${b.wsId}/v1/cache/1`, { token: a.token });
    expect(res.status).toBe(401);
    expect(res.text).toContain('ERR_AUTH_WORKSPACE_MISMATCH');
  });

  it('needs a workspace when neither the token nor the URL names one (ERR_AUTH_WORKSPACE_REQUIRED)', async () => {
    const member = await setUp({ name: 'm', principal: 'member', memberDefault: 'read-write', get: 0, put: 0 });
    const res = await http(`${ts.url}/v1/cache/1`, { token: member.token });
    expect(res.status).toBe(401);
    expect(res.text).toContain('ERR_AUTH_WORKSPACE_REQUIRED');
    expect((await http(`${ts.url}/v1/cache/1`)).text).toContain('ERR_AUTH_WORKSPACE_REQUIRED');
  });

  it('uses the bound workspace of a CI token without a URL prefix', async () => {
    const ci = await setUp({ name: 'ci', principal: 'ci-read-write', get: 0, put: 0 });
    expect((await http(`${ts.url}/v1/cache/77`, { method: 'PUT', token: ci.token, raw: 'x' })).status).toBe(200);
    expect((await http(`${ts.url}/w/${ci.wsId}/v1/cache/77`, { token: ci.token })).text).toBe('x');
  });
});
