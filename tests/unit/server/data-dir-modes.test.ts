/** The data dir is for the service user only: created 0700, tightened from 0755 on start, blob folders 0700. */
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildServer } from '../../../src/server/app';
import { api, http, makeTempDir, startTestServer } from './test-server';

const posixOnly = process.platform === 'win32' ? it.skip : it;
const modeOf = (path: string): number => statSync(path).mode & 0o777;

describe('data dir permissions', () => {
  posixOnly('creates the data dir, blobs/ and tmp/ 0700, and every blob folder 0700', async () => {
    const parent = makeTempDir();
    const dataDir = join(parent, 'data');
    const ts = await startTestServer({ dataDir });
    try {
      for (const dir of [dataDir, join(dataDir, 'blobs'), join(dataDir, 'tmp')]) expect(modeOf(dir)).toBe(0o700);
      await api(ts, 'POST', '/orgs', { name: 'acme' });
      const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono' });
      const token = (
        await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: ws.id, access: 'read-write' })
      ).token;
      expect((await http(`${ts.url}/v1/cache/abc`, { method: 'PUT', token, raw: 'artifact' })).status).toBe(200);
      const wsDir = join(dataDir, 'blobs', ws.id);
      expect(modeOf(wsDir)).toBe(0o700);
    } finally {
      await ts.stop();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  posixOnly('tightens an existing 0755 data dir on start and says so in the log', async () => {
    const dataDir = makeTempDir();
    for (const dir of [dataDir, join(dataDir, 'blobs'), join(dataDir, 'tmp')]) {
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o755);
    }
    const logs: string[] = [];
    const server = await buildServer({
      dataDir,
      port: 0,
      logLevel: 'warn',
      logDestination: { write: (line) => logs.push(line) },
    });
    try {
      for (const dir of [dataDir, join(dataDir, 'blobs'), join(dataDir, 'tmp')]) expect(modeOf(dir)).toBe(0o700);
      expect(logs.join('\n')).toContain('now 0700');
      expect(logs.join('\n')).toContain('was 755');
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
