import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../../src/errors';
import { toSealedCacheError } from '../../../src/server/http-errors';
import { api, http, startTestServer, type HttpResult, type TestServer } from './test-server';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** The code a real answer carries: JSON `{ error: { code } }` on the API, `CODE: message` in plain text on cache routes. */
function codeOf(result: HttpResult): string {
  if (String(result.headers['content-type']).startsWith('application/json'))
    return result.json<{ error: { code: string } }>().error.code;
  return result.text.split(':')[0]!;
}

describe('error codes used by the server', () => {
  const used = new Set<string>();
  for (const file of [
    ...sourceFiles(join(__dirname, '../../../src/server')),
    ...sourceFiles(join(__dirname, '../../../src/cli')),
  ]) {
    for (const match of readFileSync(file, 'utf8').matchAll(/'(ERR_[A-Z_]*[A-Z])'/g)) used.add(match[1]!);
  }

  it('finds the codes it checks', () => {
    expect(used.size).toBeGreaterThan(20);
  });

  it.each([...used])('%s is in the closed set of ERROR_CODES', (code) => {
    expect(Object.keys(ERROR_CODES)).toContain(code);
  });

  it('maps unknown failures to ERR_INTERNAL and fastify parse errors to ERR_INPUT_INVALID', () => {
    expect(toSealedCacheError(new Error('boom')).code).toBe('ERR_INTERNAL');
    expect(
      toSealedCacheError(
        Object.assign(new Error('bad json'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }),
      ).code,
    ).toBe('ERR_INPUT_INVALID');
  });
});

describe('a real server answers each representative failure with its code and status', () => {
  let ts: TestServer;
  let readToken: string;
  let writeToken: string;
  let wsId: string;

  beforeAll(async () => {
    ts = await startTestServer();
    await api(ts, 'POST', '/orgs', { name: 'acme' });
    wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
    readToken = (await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, access: 'read' }))
      .token;
    writeToken = (
      await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, access: 'read-write' })
    ).token;
    expect((await http(`${ts.url}/v1/cache/stored`, { method: 'PUT', token: writeToken, raw: 'one' })).status).toBe(
      200,
    );
  });
  afterAll(() => ts.stop());

  // A fixed table, not ERROR_CODES read back: changing a documented status must fail here.
  const cases: Array<[string, () => Promise<HttpResult>, number, string]> = [
    [
      'a cache GET naming no workspace and sending no token',
      () => http(`${ts.url}/v1/cache/abc`),
      401,
      'ERR_AUTH_WORKSPACE_REQUIRED',
    ],
    [
      'an anonymous cache GET of a workspace closed to anonymous reads',
      () => http(`${ts.url}/w/${wsId}/v1/cache/abc`),
      401,
      'ERR_AUTH_ANONYMOUS_DENIED',
    ],
    [
      'a cache GET with a token of the wrong shape',
      () => http(`${ts.url}/v1/cache/abc`, { token: 'not-a-token' }),
      401,
      'ERR_AUTH_TOKEN_MALFORMED',
    ],
    [
      'a cache GET with a hash outside the pattern',
      () => http(`${ts.url}/v1/cache/${'a'.repeat(129)}`, { token: readToken }),
      400,
      'ERR_CACHE_HASH_INVALID',
    ],
    [
      'a cache PUT with a read-only token',
      () => http(`${ts.url}/v1/cache/new`, { method: 'PUT', token: readToken, raw: 'x' }),
      403,
      'ERR_CACHE_WRITE_DENIED',
    ],
    [
      'a second cache PUT of a stored hash',
      () => http(`${ts.url}/v1/cache/stored`, { method: 'PUT', token: writeToken, raw: 'two' }),
      409,
      'ERR_CACHE_ENTRY_EXISTS',
    ],
    [
      'an API route that does not exist',
      () => http(`${ts.url}/api/v1/no-such-route`, { token: ts.adminToken }),
      404,
      'ERR_NOT_FOUND',
    ],
    [
      'an organisation created twice',
      () => http(`${ts.url}/api/v1/orgs`, { method: 'POST', token: ts.adminToken, body: { name: 'acme' } }),
      409,
      'ERR_ORG_EXISTS',
    ],
    [
      'an organisation with an invalid body',
      () => http(`${ts.url}/api/v1/orgs`, { method: 'POST', token: ts.adminToken, body: { name: 42 } }),
      400,
      'ERR_INPUT_INVALID',
    ],
    [
      'the admin API with a CI token',
      () => http(`${ts.url}/api/v1/orgs`, { token: writeToken }),
      401,
      'ERR_AUTH_TOKEN_KIND_REFUSED',
    ],
  ];

  it.each(cases)('%s', async (_name, send, status, code) => {
    const result = await send();
    expect({ status: result.status, code: codeOf(result) }).toEqual({ status, code });
  });
});
