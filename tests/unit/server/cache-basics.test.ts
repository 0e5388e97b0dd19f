import { api, http, startTestServer, type TestServer } from './test-server';

describe('cache routes: basics', () => {
  let ts: TestServer;
  let wsId: string;
  let ciToken: string;
  beforeAll(async () => {
    ts = await startTestServer();
    await api(ts, 'POST', '/orgs', { name: 'acme' });
    wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
    ciToken = (
      await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, access: 'read-write' })
    ).token;
  });
  afterAll(() => ts.stop());

  it('stores with PUT and serves the same bytes with GET', async () => {
    expect((await http(`${ts.url}/v1/cache/123`, { token: ciToken })).status).toBe(404);
    const put = await http(`${ts.url}/v1/cache/123`, {
      method: 'PUT',
      token: ciToken,
      raw: Buffer.from('artifact bytes'),
    });
    expect(put.status).toBe(200);
    const get = await http(`${ts.url}/v1/cache/123`, { token: ciToken });
    expect(get.status).toBe(200);
    expect(get.text).toBe('artifact bytes');
    expect(get.headers['content-type']).toBe('application/octet-stream');
  });

  it('answers 409 to a second PUT of the same hash', async () => {
    await http(`${ts.url}/v1/cache/abc`, { method: 'PUT', token: ciToken, raw: 'one' });
    const second = await http(`${ts.url}/v1/cache/abc`, { method: 'PUT', token: ciToken, raw: 'two' });
    expect(second.status).toBe(409);
    expect((await http(`${ts.url}/v1/cache/abc`, { token: ciToken })).text).toBe('one');
  });

  it('refuses an admin token as an admin token, with or without a workspace in the URL', async () => {
    // The quick start's admin token pasted where a cache token goes: the answer names the real mistake.
    for (const path of ['/v1/access', '/v1/cache/123', `/w/${wsId}/v1/access`, `/w/${wsId}/v1/cache/123`]) {
      const res = await http(`${ts.url}${path}`, { token: ts.adminToken });
      expect([path, res.status, res.text]).toEqual([path, 401, expect.stringMatching(/ERR_AUTH_TOKEN_KIND_REFUSED/)]);
    }
  });
});
