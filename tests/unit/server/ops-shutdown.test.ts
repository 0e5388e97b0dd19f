import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { startOpsServer, workspaceWithTokens } from './ops-test-kit';
import { http, makeTempDir } from './test-server';

const MiB = 1024 ** 2;

describe('graceful shutdown', () => {
  // The grace is long here: the download must be able to finish however loaded the machine is.
  it('lets an in-flight GET finish before it closes', async () => {
    const ts = await startOpsServer({ dataDir: makeTempDir('nxsc-ops-'), shutdownGrace: 60_000, retentionInterval: 0 });
    const { rw } = await workspaceWithTokens(ts);
    const big = Buffer.alloc(16 * MiB, 3);
    expect((await http(`${ts.url}/v1/cache/big`, { method: 'PUT', token: rw, raw: big })).status).toBe(200);

    const download = await request(`${ts.url}/v1/cache/big`, { headers: { authorization: `Bearer ${rw}` } });
    expect(download.statusCode).toBe(200);
    const iterator = download.body[Symbol.asyncIterator]();
    const chunks: Buffer[] = [(await iterator.next()).value as Buffer];

    let closed = false;
    const closing = ts.server.close().then(() => (closed = true));
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) chunks.push(next.value as Buffer);
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
    await closing;
    expect(closed).toBe(true);
  });

  // The grace is short here: nothing else is in flight, and the stalled upload must be cut when it ends.
  it('stores nothing of an upload it cuts at the end of the grace, and releases the data dir', async () => {
    const dataDir = makeTempDir('nxsc-ops-');
    const ts = await startOpsServer({ dataDir, shutdownGrace: 200, retentionInterval: 0 });
    const { rw } = await workspaceWithTokens(ts);
    const kept = Buffer.alloc(64 * 1024, 3);
    expect((await http(`${ts.url}/v1/cache/kept`, { method: 'PUT', token: rw, raw: kept })).status).toBe(200);

    const socket = connect(Number(new URL(ts.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    const uploadClosed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `PUT /v1/cache/cut HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${rw}\r\nContent-Length: 100000\r\n\r\n`,
    );
    socket.write(Buffer.alloc(50_000, 9));
    await new Promise<void>((resolve) => socket.write('', () => resolve()));

    await ts.server.close();
    await uploadClosed;

    const again = await startOpsServer({ dataDir, adminToken: ts.adminToken, retentionInterval: 0 }).catch(
      (err: unknown) => {
        throw new Error(`the data dir was not released: ${String(err)}`);
      },
    );
    try {
      expect((await http(`${again.url}/v1/cache/cut`, { token: rw })).status).toBe(404);
      expect((await http(`${again.url}/v1/cache/kept`, { token: rw })).text.length).toBe(kept.length);
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
