import { readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { api, http, startTestServer, type TestServer } from './test-server';

/** Sends raw bytes on one connection and collects everything the server sends back until it closes or goes quiet. */
function rawExchange(
  url: string,
  payload: string | Buffer,
  opts: { endAfterWrite?: boolean; idleMs?: number } = {},
): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    let idle: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(idle);
      socket.destroy();
      resolve(received);
    };
    socket.on('data', (d) => {
      received += d.toString('latin1');
      clearTimeout(idle);
      idle = setTimeout(finish, opts.idleMs ?? 300);
    });
    socket.on('close', finish);
    socket.on('error', (err) => (received ? finish() : reject(err)));
    socket.write(payload, () => {
      if (opts.endAfterWrite) socket.end();
    });
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('cache routes: write-once, body integrity, hash validation, storage faults', () => {
  let ts: TestServer;
  let wsId: string;
  let token: string;
  let cacheUrl: (hash: string) => string;
  beforeAll(async () => {
    ts = await startTestServer({ maxArtifactSize: 1024 });
    await api(ts, 'POST', '/orgs', { name: 'acme' });
    wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
    token = (
      await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, access: 'read-write' })
    ).token;
    cacheUrl = (hash) => `${ts.url}/v1/cache/${hash}`;
  });
  afterAll(() => ts.stop());

  const blobFiles = () => listFiles(join(ts.dataDir, 'blobs'));
  const tmpFiles = () => listFiles(join(ts.dataDir, 'tmp'));
  const entry = (hash: string) => ts.server.context.store.findEntry(wsId, 'shared', hash);
  const rawPut = (hash: string, headers: string, body: string) =>
    `PUT /v1/cache/${hash} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n${headers}\r\n${body}`;

  it('of 20 concurrent PUTs of one hash exactly one wins; GET returns exactly its bytes', async () => {
    const bodies = Array.from({ length: 20 }, (_, i) => Buffer.from(`body number ${i} `.repeat(20 + i)));
    const results = await Promise.all(bodies.map((raw) => http(cacheUrl('race1'), { method: 'PUT', token, raw })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = bodies[statuses.indexOf(200)];
    const got = await http(cacheUrl('race1'), { token });
    expect(got.text).toBe(winner.toString());
    expect(blobFiles().filter((f) => f.includes('race1'))).toHaveLength(1);
  });

  it('stores nothing when the client sends fewer bytes than Content-Length and closes', async () => {
    await rawExchange(ts.url, rawPut('short1', 'Content-Length: 100\r\n', 'only thirty bytes of the body.'), {
      endAfterWrite: true,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(await entry('short1')).toBeUndefined();
    expect(blobFiles().filter((f) => f.includes('short1'))).toHaveLength(0);
    expect(tmpFiles()).toHaveLength(0);
    expect((await http(cacheUrl('short1'), { token })).status).toBe(404);
  });

  it('answers 413 for a body over the cap, after draining it, and stores nothing', async () => {
    const res = await http(cacheUrl('big1'), { method: 'PUT', token, raw: Buffer.alloc(2048, 1) });
    expect(res.status).toBe(413);
    expect(res.text).toContain('ERR_CACHE_BODY_TOO_LARGE');
    expect(await entry('big1')).toBeUndefined();
    expect(blobFiles().filter((f) => f.includes('big1'))).toHaveLength(0);
  });

  it('answers 400 when more bytes than Content-Length arrive and never stores more than Content-Length', async () => {
    const reply = await rawExchange(ts.url, rawPut('extra1', 'Content-Length: 5\r\n', 'helloEXTRA BYTES'));
    expect(reply).toMatch(/HTTP\/1\.1 400/);
    // Whether the first 5 bytes were committed depends on timing; never more than Content-Length.
    const stored = await entry('extra1');
    if (stored !== undefined) expect((await http(cacheUrl('extra1'), { token })).text).toBe('hello');
    expect(blobFiles().filter((f) => f.includes('extra1')).length).toBeLessThanOrEqual(1);
  });

  it('answers 411 without Content-Length (chunked upload) and stores nothing', async () => {
    const reply = await rawExchange(
      ts.url,
      rawPut('chunk1', 'Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'),
    );
    expect(reply).toMatch(/^HTTP\/1\.1 411/);
    expect(reply).toContain('ERR_CACHE_LENGTH_REQUIRED');
    expect(await entry('chunk1')).toBeUndefined();
  });

  it('drains the body before a 409, so the client reads the answer', async () => {
    await http(cacheUrl('dup1'), { method: 'PUT', token, raw: 'first' });
    const res = await http(cacheUrl('dup1'), { method: 'PUT', token, raw: Buffer.alloc(1000, 2) });
    expect(res.status).toBe(409);
    expect(res.text).toContain('ERR_CACHE_ENTRY_EXISTS');
  });

  it.each([
    ['traversal, encoded', '..%2F..%2Fetc%2Fpasswd'],
    ['dot-dot, encoded', '%2E%2E'],
    ['odd characters', 'abc%20def'],
    ['a dot', 'abc.def'],
    ['too long', 'a'.repeat(129)],
    ['unicode', '%C3%A9t%C3%A9'],
  ])('refuses a bad hash (%s) before touching storage', async (_label, hash) => {
    const before = blobFiles().length;
    const put = await http(cacheUrl(hash), { method: 'PUT', token, raw: 'x' });
    const get = await http(cacheUrl(hash), { token });
    // 400 from our validation, or 404 when the router already refuses the path; never stored.
    expect([400, 404]).toContain(put.status);
    expect([400, 404]).toContain(get.status);
    expect(blobFiles().length).toBe(before);
    expect(tmpFiles()).toHaveLength(0);
  });

  it('accepts a 128-character hash and answers ERR_CACHE_HASH_INVALID for 129', async () => {
    expect((await http(cacheUrl('h'.repeat(128)), { method: 'PUT', token, raw: 'ok' })).status).toBe(200);
    const tooLong = await http(cacheUrl('h'.repeat(129)), { method: 'PUT', token, raw: 'ok' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.headers['content-type']).toBe('text/plain');
    expect(tooLong.text).toContain('ERR_CACHE_HASH_INVALID');
  });

  it('refuses a raw path traversal without reaching storage', async () => {
    const reply = await rawExchange(
      ts.url,
      `GET /v1/cache/../../metadata.sqlite HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 404/);
    expect(reply).not.toContain('SQLite format');
  });

  it('answers 404 (never 5xx) when a blob was deleted or truncated on disk', async () => {
    await http(cacheUrl('gone1'), { method: 'PUT', token, raw: 'soon deleted' });
    await http(cacheUrl('short2'), { method: 'PUT', token, raw: 'soon truncated' });
    rmSync(blobFiles().find((f) => f.includes('gone1')) as string);
    truncateSync(blobFiles().find((f) => f.includes('short2')) as string, 3);
    const before = ts.server.context.counters.storageFaultMisses;
    expect((await http(cacheUrl('gone1'), { token })).status).toBe(404);
    expect((await http(cacheUrl('short2'), { token })).status).toBe(404);
    expect(ts.server.context.counters.storageFaultMisses).toBe(before + 2);
  });

  it('answers 404 on GET when the database fails, and 403 ERR_CACHE_STORAGE_FAILED on PUT', async () => {
    const store = ts.server.context.store;
    const findEntry = store.findEntry.bind(store);
    store.findEntry = async () => {
      throw new Error('disk I/O error');
    };
    try {
      expect((await http(cacheUrl('dbfail'), { token })).status).toBe(404);
      const put = await http(cacheUrl('dbfail'), { method: 'PUT', token, raw: 'x' });
      expect(put.status).toBe(403);
      expect(put.text).toContain('ERR_CACHE_STORAGE_FAILED');
    } finally {
      store.findEntry = findEntry;
    }
  });

  it('a retried upload succeeds after an orphan blob was left behind', async () => {
    writeFileSync(join(ts.dataDir, 'blobs', 'orphan.tmp'), 'left by a crash');
    expect((await http(cacheUrl('retry1'), { method: 'PUT', token, raw: 'fine' })).status).toBe(200);
    expect((await http(cacheUrl('retry1'), { token })).text).toBe('fine');
  });
});
