import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { startOpsServer, workspaceWithTokens } from './ops-test-kit';
import { http, makeTempDir } from './test-server';

const MiB = 1024 ** 2;

describe('graceful shutdown', () => {
  it('lets an in-flight GET finish, stores nothing of an upload it cuts, and releases the data dir', async () => {
    const dataDir = makeTempDir('nxsc-ops-');
    const ts = await startOpsServer({ dataDir, shutdownGrace: 500, retentionInterval: 0 });
    const { rw } = await workspaceWithTokens(ts);
    const big = Buffer.alloc(16 * MiB, 3);
    expect((await http(`${ts.url}/v1/cache/big`, { method: 'PUT', token: rw, raw: big })).status).toBe(200);

    const download = await request(`${ts.url}/v1/cache/big`, { headers: { authorization: `Bearer ${rw}` } });
    expect(download.statusCode).toBe(200);
    const iterator = download.body[Symbol.asyncIterator]();
    const chunks: Buffer[] = [(await iterator.next()).value as Buffer];

    const socket = connect(Number(new URL(ts.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    const uploadClosed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `PUT /v1/cache/cut HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${rw}\r\nContent-Length: 100000\r\n\r\n`,
    );
    socket.write(Buffer.alloc(50_000, 9));
    await new Promise<void>((resolve) => socket.write('', () => resolve()));

    const closing = ts.server.close();
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) chunks.push(next.value as Buffer);
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
    await uploadClosed;
    await closing;

    const again = await startOpsServer({ dataDir, adminToken: ts.adminToken, retentionInterval: 0 }).catch(
      (err: unknown) => {
        throw new Error(`the data dir was not released: ${String(err)}`);
      },
    );
    try {
      expect((await http(`${again.url}/v1/cache/cut`, { token: rw })).status).toBe(404);
      expect((await http(`${again.url}/v1/cache/big`, { token: rw })).text.length).toBe(16 * MiB);
      expect(
        readdirSync(join(dataDir, 'blobs'), { recursive: true })
          .map(String)
          .filter((p) => p.includes('cut')),
      ).toEqual([]);
      expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
    } finally {
      await again.stop();
    }
  });
});
