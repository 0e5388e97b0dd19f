/** Starts a real server on 127.0.0.1:0 with a temp data dir, an initialised admin and a movable clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { initialiseAdmin } from '../../../src/server/admin-init';
import { type SealedCacheServer, buildServer } from '../../../src/server/app';
import type { ServerConfigInput } from '../../../src/server/config/server-config';

export interface TestClock {
  now: Date;
  advance(ms: number): void;
}

export interface TestServer {
  server: SealedCacheServer;
  url: string;
  dataDir: string;
  adminToken: string;
  clock: TestClock;
  stop(): Promise<void>;
}

export function makeTempDir(prefix = 'nxsc-server-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(
  options: {
    maxArtifactSize?: number;
    drainLimit?: number;
    dataDir?: string;
    config?: Partial<ServerConfigInput>;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? makeTempDir();
  const clock: TestClock = {
    now: new Date('2030-01-01T00:00:00.000Z'),
    advance(ms) {
      this.now = new Date(this.now.getTime() + ms);
    },
  };
  const { databaseUrl } = options.config ?? {};
  const { token } = await initialiseAdmin({ dataDir, databaseUrl, clock: () => clock.now });
  const server = await buildServer({
    ...options.config,
    dataDir,
    port: 0,
    logLevel: false,
    clock: () => clock.now,
    maxArtifactSize: options.maxArtifactSize,
    drainLimit: options.drainLimit,
  });
  return {
    server,
    url: server.url as string,
    dataDir,
    adminToken: token,
    clock,
    stop: async () => {
      await server.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = unknown>(): T;
}

export async function http(
  url: string,
  init: { method?: string; token?: string; body?: unknown; raw?: Buffer | string } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: Buffer | string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  } else if (init.raw !== undefined) {
    headers['content-type'] = 'application/octet-stream';
    body = init.raw;
  }
  const response = await request(url, { method: (init.method ?? 'GET') as 'GET', headers, body });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: <T>() => JSON.parse(text) as T };
}

/** An admin-API call that must succeed; returns the parsed JSON. */
export async function api<T = Record<string, unknown>>(
  ts: TestServer,
  method: string,
  path: string,
  body?: unknown,
  token = ts.adminToken,
): Promise<T> {
  const result = await http(`${ts.url}/api/v1${path}`, { method, token, body });
  if (result.status >= 300) throw new Error(`${method} ${path} -> ${result.status} ${result.text}`);
  return result.json<T>();
}
