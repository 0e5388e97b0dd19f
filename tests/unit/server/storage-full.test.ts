/** Regression (hardening suite, disk full): storage failing mid-body answers 403 after draining, never 400 or a reset. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import type { BlobStore } from '../../../src/server/storage/blob-store';
import { api, http, startTestServer, type TestServer } from './test-server';

/** Lets `budget` bytes through, then fails like a full disk. */
function failingAfter(inner: BlobStore, budget: number): BlobStore {
  return {
    open: (key) => inner.open(key),
    delete: (key) => inner.delete(key),
    put: (key, body, size) => {
      let seen = 0;
      async function* metered(): AsyncIterable<Buffer> {
        for await (const chunk of body) {
          seen += chunk.length;
          if (seen > budget)
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          yield chunk;
        }
      }
      return inner.put(key, metered(), size);
    },
  };
}

describe('a full disk during an upload', () => {
  let ts: TestServer;
  let token: string;

  beforeAll(async () => {
    ts = await startTestServer();
    const org = await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'full-disk' });
    const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', { org: org.id, name: 'ws' });
    token = (
      await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: ws.id, access: 'read-write' })
    ).token;
    ts.server.context.blobs = failingAfter(ts.server.context.blobs, 64 * 1024);
  });
  afterAll(() => ts.stop());

  it('answers 403 ERR_CACHE_STORAGE_FAILED after reading the whole body, stores nothing and leaves no temp file', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const response = await request(`${ts.url}/v1/cache/full-disk-1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-length': String(body.length) },
      body,
    });
    const text = await response.body.text();
    expect(response.statusCode).toBe(403);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(text).toMatch(/^ERR_CACHE_STORAGE_FAILED: /);
    expect((await http(`${ts.url}/v1/cache/full-disk-1`, { token })).status).toBe(404);
    expect(readdirSync(join(ts.dataDir, 'tmp'))).toEqual([]);
  });

  it('answers 403, not 400, when storage fails after the whole body arrived (say, at fsync)', async () => {
    const inner = ts.server.context.blobs;
    ts.server.context.blobs = {
      ...inner,
      open: (key) => inner.open(key),
      delete: (key) => inner.delete(key),
      put: async (_key, body) => {
        for await (const _chunk of body) {
          // consume everything, as a store does before fsync
        }
        throw Object.assign(new Error('ENOSPC: no space left on device, fsync'), { code: 'ENOSPC' });
      },
    };
    try {
      const body = Buffer.alloc(200 * 1024, 3);
      const response = await request(`${ts.url}/v1/cache/full-disk-fsync`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-length': String(body.length) },
        body,
      });
      expect(response.statusCode).toBe(403);
      expect(await response.body.text()).toMatch(/^ERR_CACHE_STORAGE_FAILED: /);
    } finally {
      ts.server.context.blobs = inner;
    }
  });

  it('keeps answering reads on the same connection pool afterwards', async () => {
    expect((await http(`${ts.url}/v1/cache/full-disk-2`, { token })).status).toBe(404);
  });
});
