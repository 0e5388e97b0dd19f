/**
 * Slow bodies and connection caps over real sockets on loopback. Windows are configured small; the tests
 * judge outcomes (who closed the connection, what was stored), and their time bounds only stop a hang.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { resolveServeConfig } from '../../../src/server/config/config-file';
import { api, http, startTestServer, type TestServer } from './test-server';

/** Far longer than any case: a connection still open at this point was not cut off. */
const GIVE_UP_MS = 8_000;

interface Exchange {
  closedByServer: boolean;
  received: string;
}

/** Writes `head`, then one byte of `body` every `everyMs` until the server closes or we give up. */
function trickle(port: number, head: string, body: Buffer, everyMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean): void => {
      clearTimeout(giveUp);
      clearInterval(timer);
      socket.destroy();
      resolve({ closedByServer, received });
    };
    const giveUp = setTimeout(() => finish(false), GIVE_UP_MS);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent < body.length) socket.write(body.subarray(sent, ++sent));
      }, everyMs);
    });
  });
}

/** A connected socket, and whether the server closed it before `waitMs` passed. */
function openConnection(port: number, waitMs: number): Promise<{ socket: Socket; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => resolve({ socket, closedByServer: false }), waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ socket, closedByServer: true });
    });
  });
}

describe('a minimum body rate', () => {
  let ts: TestServer;
  let token: string;
  beforeAll(async () => {
    // Timeouts long, so only the body rate can cut a trickling upload off.
    ts = await startTestServer({
      config: {
        minBodyRate: 2000,
        bodyRateWindow: 200,
        bodyRateGrace: 100,
        requestTimeout: 60_000,
        idleTimeout: 60_000,
        headersTimeout: 30_000,
      },
    });
    await api(ts, 'POST', '/orgs', { name: 'acme' });
    const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' });
    token = (
      await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: ws.id, access: 'read-write' })
    ).token;
  });
  afterAll(async () => ts.stop());

  it('closes the connection of a trickled cache PUT and stores nothing', async () => {
    const port = Number(new URL(ts.url).port);
    const head = `PUT /v1/cache/trickled HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100000\r\n\r\n`;
    const result = await trickle(port, head, Buffer.alloc(100_000, 7), 20);
    expect(result.closedByServer).toBe(true);
    expect(result.received).not.toContain('200 OK');
    expect((await http(`${ts.url}/v1/cache/trickled`, { token })).status).toBe(404);
    // The half-written upload is removed once the handler sees the body end early.
    for (let attempt = 0; attempt < 50 && readdirSync(join(ts.dataDir, 'tmp')).length > 0; attempt++)
      await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(join(ts.dataDir, 'tmp'))).toEqual([]);
  });

  it('closes a trickled admin API body too', async () => {
    const port = Number(new URL(ts.url).port);
    const body = Buffer.from(JSON.stringify({ name: 'o'.repeat(4000) }));
    const head = `POST /api/v1/orgs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ts.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const result = await trickle(port, head, body, 20);
    expect(result.closedByServer).toBe(true);
    expect(result.received).not.toContain('201');
  });

  it('lets a normal upload and requests without a body through', async () => {
    const body = Buffer.alloc(4 * 1024 * 1024, 3);
    expect((await http(`${ts.url}/v1/cache/fast`, { method: 'PUT', token, raw: body })).status).toBe(200);
    const back = await http(`${ts.url}/v1/cache/fast`, { token });
    expect(back.status).toBe(200);
    expect(back.text.length).toBe(body.length);
  });
});

describe('connection caps', () => {
  it('closes connections beyond the per-address cap and accepts new ones once others close', async () => {
    const ts = await startTestServer({ config: { maxConnectionsPerAddress: 3, maxConnections: 0 } });
    const port = Number(new URL(ts.url).port);
    try {
      const held = await Promise.all([1, 2, 3].map(() => openConnection(port, 300)));
      expect(held.map((c) => c.closedByServer)).toEqual([false, false, false]);
      const extra = await openConnection(port, GIVE_UP_MS);
      expect(extra.closedByServer).toBe(true);
      held[0]!.socket.destroy();
      // The freed slot is usable: a real request gets its answer.
      let status = 0;
      for (let attempt = 0; attempt < 20 && status !== 200; attempt++)
        status = await http(`${ts.url}/healthz`)
          .then((r) => r.status)
          .catch(() => 0);
      expect(status).toBe(200);
      held.forEach((c) => c.socket.destroy());
    } finally {
      await ts.stop();
    }
  });

  it('closes connections beyond the total cap', async () => {
    const ts = await startTestServer({ config: { maxConnections: 2, maxConnectionsPerAddress: 0 } });
    const port = Number(new URL(ts.url).port);
    try {
      const held = await Promise.all([1, 2].map(() => openConnection(port, 300)));
      expect(held.map((c) => c.closedByServer)).toEqual([false, false]);
      const extra = await openConnection(port, GIVE_UP_MS);
      expect(extra.closedByServer).toBe(true);
      held.forEach((c) => c.socket.destroy());
    } finally {
      await ts.stop();
    }
  });
});

describe('configuring the limits', () => {
  it('takes each from a flag, an NX_SEALED_CACHE_SERVER_* variable or a --config key, with defaults', () => {
    const defaults = resolveServeConfig({ flags: {}, env: {} });
    expect(defaults).toMatchObject({
      minBodyRate: 1024,
      bodyRateWindow: 10_000,
      bodyRateGrace: 10_000,
      maxConnections: 10_000,
      maxConnectionsPerAddress: 2000,
    });
    const dir = mkdtempSync(join(tmpdir(), 'nxsc-limits-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ minBodyRate: '4KiB', bodyRateWindow: '30s', maxConnections: 50 }));
      const config = resolveServeConfig({
        configPath: file,
        env: { NX_SEALED_CACHE_SERVER_BODY_RATE_GRACE: '2s', NX_SEALED_CACHE_SERVER_MAX_CONNECTIONS: '60' },
        flags: { maxConnectionsPerAddress: '7' },
      });
      expect(config).toMatchObject({
        minBodyRate: 4096,
        bodyRateWindow: 30_000,
        bodyRateGrace: 2000,
        maxConnections: 60,
        maxConnectionsPerAddress: 7,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => resolveServeConfig({ flags: { bodyRateWindow: '0' }, env: {} })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
  });
});
