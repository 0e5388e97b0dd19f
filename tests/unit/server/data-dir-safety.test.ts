import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isSealedCacheError } from '../../../src/errors';
import { initialiseAdmin } from '../../../src/server/admin-init';
import { buildServer } from '../../../src/server/app';
import { generateToken } from '../../../src/server/auth/token-format';
import { api, http, makeTempDir, startTestServer } from './test-server';

describe('data directory safety', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tempDir = () => {
    const dir = makeTempDir();
    dirs.push(dir);
    return dir;
  };

  it('refuses a second server on the same data dir with ERR_DATA_DIR_LOCKED', async () => {
    const dataDir = tempDir();
    const first = await buildServer({ dataDir, port: 0, logLevel: false });
    try {
      await expect(buildServer({ dataDir, port: 0, logLevel: false })).rejects.toMatchObject({
        code: 'ERR_DATA_DIR_LOCKED',
      });
    } finally {
      await first.close();
    }
  });

  it('admin init beside a running server refuses with ERR_DATA_DIR_LOCKED and says what to do', async () => {
    const dataDir = tempDir();
    const server = await buildServer({ dataDir, port: 0, logLevel: false });
    try {
      // The server holds SQLite's lock for its whole life; token lookups keep working meanwhile.
      const lookups = Promise.all(
        Array.from({ length: 20 }, (_, i) => http(`${server.url}/v1/cache/${i}`, { token: generateToken('ci') })),
      );
      await expect(initialiseAdmin({ dataDir, name: 'root' })).rejects.toMatchObject({
        code: 'ERR_DATA_DIR_LOCKED',
        message: expect.stringContaining('stop the server, run `admin init`, then start it again'),
      });
      expect((await lookups).map((r) => r.status)).toEqual(Array(20).fill(401));
    } finally {
      await server.close();
    }
    const { token } = await initialiseAdmin({ dataDir, name: 'root' });
    const restarted = await buildServer({ dataDir, port: 0, logLevel: false });
    try {
      expect(restarted.hasAdmin).toBe(true);
      expect((await http(`${restarted.url}/api/v1/orgs`, { token })).status).toBe(200);
    } finally {
      await restarted.close();
    }
  });

  it('takes over the lock of a process killed with SIGKILL, and a stale SQLite lock dir', async () => {
    const dataDir = tempDir();
    const lockFile = join(dataDir, 'server.lock');
    // A child takes the lock the same way the server does, then dies without cleaning up.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(lockFile)}, process.pid + '\\n', { flag: 'wx' }); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const exited = new Promise((r) => child.once('exit', r));
    try {
      // Wait for the child to say it holds the lock: a fixed sleep loses the race on a busy machine.
      await new Promise((r) => child.stdout.once('data', r));
      expect(readFileSync(lockFile, 'utf8').trim()).toBe(String(child.pid));
      await expect(buildServer({ dataDir, port: 0, logLevel: false })).rejects.toMatchObject({
        code: 'ERR_DATA_DIR_LOCKED',
      });
    } finally {
      // Even when an assertion fails: a live child would keep jest from exiting.
      child.kill('SIGKILL');
      await exited;
    }
    mkdirSync(join(dataDir, 'metadata.sqlite.lock'));
    const server = await buildServer({ dataDir, port: 0, logLevel: false });
    try {
      expect(server.hasAdmin).toBe(false);
      expect(readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));
    } finally {
      await server.close();
    }
  });

  it('admin init works once per data dir', async () => {
    const dataDir = tempDir();
    const first = await initialiseAdmin({ dataDir, name: 'root' });
    expect(first.token).toMatch(/^nxsc_adm_/);
    const second = await initialiseAdmin({ dataDir }).catch((err: unknown) => err);
    expect(isSealedCacheError(second, 'ERR_ADMIN_ALREADY_INITIALISED')).toBe(true);
  });

  it('never writes a token value into the database, only its hash', async () => {
    const ts = await startTestServer();
    try {
      await api(ts, 'POST', '/orgs', { name: 'acme' });
      const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'web' });
      const ci = await api<{ id: string; token: string }>(ts, 'POST', '/tokens', {
        kind: 'ci',
        workspaceId: ws.id,
        access: 'read-write',
      });
      const rotated = await api<{ token: string }>(ts, 'POST', `/tokens/${ci.id}/rotate`);
      await http(`${ts.url}/v1/cache/1`, { method: 'PUT', token: rotated.token, raw: 'x' });
      const db = readFileSync(join(ts.dataDir, 'metadata.sqlite')).toString('latin1');
      for (const value of [ts.adminToken, ci.token, rotated.token]) {
        expect(db).not.toContain(value);
        expect(db).not.toContain(value.slice(9, 30));
      }
      expect(db).toContain('tok_');
    } finally {
      await ts.stop();
    }
  });
});
