/** A real server with any operations options, a captured log, a movable clock and a workspace with tokens. */
import { rmSync } from 'node:fs';
import { initialiseAdmin } from '../../../src/server/admin-init';
import { type BuildServerOptions, type SealedCacheServer, buildServer } from '../../../src/server/app';
import { type TestClock, api, makeTempDir } from './test-server';

export interface OpsServer {
  server: SealedCacheServer;
  url: string;
  dataDir: string;
  adminToken: string;
  clock: TestClock;
  logs: string[];
  stop(): Promise<void>;
}

export function testClock(): TestClock {
  return {
    now: new Date('2030-01-01T00:00:00.000Z'),
    advance(ms) {
      this.now = new Date(this.now.getTime() + ms);
    },
  };
}

type OpsOptions = Omit<BuildServerOptions, 'clock' | 'dataDir'> & {
  dataDir?: string;
  clock?: TestClock;
  adminToken?: string;
};

/** With `adminToken`, the data dir is reused as it is (a restart); otherwise an administrator is created. */
export async function startOpsServer(options: OpsOptions = {}): Promise<OpsServer> {
  const { dataDir = makeTempDir('nxsc-ops-'), clock = testClock(), adminToken, ...rest } = options;
  const token = adminToken ?? (await initialiseAdmin({ dataDir, clock: () => clock.now })).token;
  const logs: string[] = [];
  const server = await buildServer({
    port: 0,
    logLevel: 'info',
    ...rest,
    dataDir,
    clock: () => clock.now,
    logDestination: { write: (line) => logs.push(line) },
  });
  let stopped = false;
  return {
    server,
    url: server.url as string,
    dataDir,
    adminToken: token,
    clock,
    logs,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An organisation, a workspace, and a read-write and a read-only CI token in it (trusted: writes land in `shared`). */
export async function workspaceWithTokens(ts: {
  url: string;
  adminToken: string;
}): Promise<{ wsId: string; rw: string; ro: string }> {
  const t = ts as Parameters<typeof api>[0];
  await api(t, 'POST', '/orgs', { name: 'acme' });
  const wsId = (await api<{ id: string }>(t, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
  const rw = (
    await api<{ token: string }>(t, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: wsId,
      access: 'read-write',
      tier: 'trusted',
    })
  ).token;
  const ro = (await api<{ token: string }>(t, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, access: 'read' }))
    .token;
  return { wsId, rw, ro };
}

/** Prometheus text to `name{labels}` -> value. */
export function parseExposition(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+?)(\{.*\})?\s+(\S+)$/.exec(line);
    if (match) values.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return values;
}
