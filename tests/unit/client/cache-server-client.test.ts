import { Readable } from 'node:stream';
import { CacheServerClient } from '../../../src/client/cache-server-client';
import { SealedCacheError } from '../../../src/errors';
import { accessBody, clientConfigFor, refusedUrl, sendJson, startTinyServer, type TinyServer } from './tiny-server';

async function caught(promise: Promise<unknown>): Promise<SealedCacheError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SealedCacheError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('CacheServerClient against a real HTTP server', () => {
  let server: TinyServer;
  let client: CacheServerClient;
  beforeEach(async () => {
    server = await startTinyServer();
    client = new CacheServerClient(clientConfigFor(server.url));
  });
  afterEach(async () => {
    await client.close();
    await server.close();
  });

  it('reads and validates the access answer, sending the bearer token', async () => {
    server.handle((_req, res) => sendJson(res, 200, accessBody({ read: true, write: false })));
    const access = await client.access();
    expect(access.access).toEqual({ read: true, write: false });
    expect(server.received[0]).toMatchObject({ method: 'GET', url: '/v1/access' });
    expect(server.received[0]!.headers.authorization).toBe('Bearer nxsc_ci_testtoken');
  });

  it('sends no Authorization header without a token, and uses the workspace prefix', async () => {
    await client.close();
    client = new CacheServerClient(
      clientConfigFor(server.url, { credential: { source: 'none' }, workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa' }),
    );
    server.handle((_req, res) => res.writeHead(404).end());
    expect(await client.getArtifact('abc')).toBeNull();
    expect(server.received[0]!.url).toBe('/w/ws_aaaaaaaaaaaaaaaaaaaa/v1/cache/abc');
    expect(server.received[0]!.headers.authorization).toBeUndefined();
  });

  it('returns the body on 200 and null on 404', async () => {
    server.handle((req, res) =>
      req.url.endsWith('/hit') ? res.writeHead(200).end('payload') : res.writeHead(404).end(),
    );
    expect((await readAll((await client.getArtifact('hit'))!)).toString()).toBe('payload');
    expect(await client.getArtifact('miss')).toBeNull();
  });

  it('maps PUT 200 / 409 / 403 to stored / exists / denied, sending Content-Length', async () => {
    const answers = [200, 409, 403];
    server.handle((_req, res) =>
      sendJson(res, answers.shift()!, { error: { code: 'ERR_CACHE_ENTRY_EXISTS', message: 'x' } }),
    );
    expect(await client.putArtifact('a', Readable.from([Buffer.from('hello')]), 5)).toBe('stored');
    expect(await client.putArtifact('a', Readable.from([Buffer.from('hello')]), 5)).toBe('exists');
    expect(await client.putArtifact('a', Readable.from([Buffer.from('hello')]), 5)).toBe('denied');
    expect(server.received[0]!.headers['content-length']).toBe('5');
    expect(server.received[0]!.body.toString()).toBe('hello');
  });

  it('takes the auth code from a text/plain 401', async () => {
    server.handle((_req, res) =>
      res.writeHead(401, { 'content-type': 'text/plain' }).end('ERR_AUTH_TOKEN_EXPIRED: The token has expired.'),
    );
    const err = await caught(client.getArtifact('abc'));
    expect(err.code).toBe('ERR_AUTH_TOKEN_EXPIRED');
    expect(err.message).toContain('expired');
  });

  it('takes the auth code from a JSON 401 on the access route, and defaults to TOKEN_INVALID', async () => {
    server.handle((_req, res) =>
      sendJson(res, 401, { error: { code: 'ERR_AUTH_NOT_MEMBER', message: 'not a member' } }),
    );
    expect((await caught(client.access())).code).toBe('ERR_AUTH_NOT_MEMBER');
    server.handle((_req, res) => res.writeHead(401).end());
    expect((await caught(client.access())).code).toBe('ERR_AUTH_TOKEN_INVALID');
  });

  it('classifies a GET 403 as an auth error', async () => {
    server.handle((_req, res) => sendJson(res, 403, { error: { code: 'ERR_AUTH_FORBIDDEN', message: 'no' } }));
    expect((await caught(client.getArtifact('abc'))).code).toBe('ERR_AUTH_FORBIDDEN');
  });

  it('classifies a 500 as a bad response, keeping the server code in the message', async () => {
    server.handle((_req, res) => sendJson(res, 500, { error: { code: 'ERR_INTERNAL', message: 'boom' } }));
    const err = await caught(client.getArtifact('abc'));
    expect(err.code).toBe('ERR_CLIENT_BAD_RESPONSE');
    expect(err.message).toContain('500 ERR_INTERNAL');
  });

  it('classifies an access answer that breaks the contract as a bad response', async () => {
    server.handle((_req, res) => sendJson(res, 200, { hello: 'world' }));
    expect((await caught(client.access())).code).toBe('ERR_CLIENT_BAD_RESPONSE');
  });

  it('times out a server that never answers', async () => {
    server.handle(() => undefined);
    await client.close();
    client = new CacheServerClient(clientConfigFor(server.url, { timeouts: { connectMs: 200, requestMs: 200 } }));
    expect((await caught(client.getArtifact('abc'))).code).toBe('ERR_CLIENT_TIMEOUT');
  });

  it('classifies a refused connection as unreachable', async () => {
    await client.close();
    client = new CacheServerClient(clientConfigFor(await refusedUrl()));
    expect((await caught(client.access())).code).toBe('ERR_CLIENT_UNREACHABLE');
  });

  it('stops a download that grows past maxArtifactBytes', async () => {
    await client.close();
    client = new CacheServerClient(clientConfigFor(server.url, { maxArtifactBytes: 4 }));
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-length': '12' });
      res.end('far too long');
    });
    expect((await caught(client.getArtifact('abc'))).code).toBe('ERR_CLIENT_BAD_RESPONSE');
    server.handle((_req, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.write('far ');
      res.end('too long');
    });
    const stream = await client.getArtifact('abc');
    expect((await caught(readAll(stream!))).code).toBe('ERR_CLIENT_BAD_RESPONSE');
  });
});
