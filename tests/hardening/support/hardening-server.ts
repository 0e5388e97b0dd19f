/** The real server in-process on 127.0.0.1:0, with an admin, one organisation, two workspaces and tokens. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { initialiseAdmin } from '../../../src/server/admin-init';
import { type BuildServerOptions, type SealedCacheServer, buildServer } from '../../../src/server/app';
import { ServerConfig } from '../../../src/server/config/server-config';

export interface MovableClock {
  now: Date;
  advance(ms: number): void;
}

export interface HardeningServer {
  server: SealedCacheServer;
  url: string;
  port: number;
  dataDir: string;
  adminToken: string;
  clock: MovableClock;
  workspaceId: string;
  otherWorkspaceId: string;
  /** A read-write CI token of `workspaceId`. */
  writeToken: string;
  stop(): Promise<void>;
}

/** The option names the server factory accepts today, so suites can tell whether a feature has landed. */
export function serverOptionNames(): string[] {
  const shape = (ServerConfig as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** The subset of `wanted` the server factory knows, so suites run before and after a feature lands. */
export function supportedOptions(wanted: Record<string, unknown>): Partial<BuildServerOptions> {
  const known = new Set(serverOptionNames());
  return Object.fromEntries(Object.entries(wanted).filter(([name]) => known.has(name))) as Partial<BuildServerOptions>;
}

/** Rate limits and auth-failure limits off: for suites that judge each request on its own. */
export const NO_LIMITS = { rateLimit: 0, authFailureLimit: 0, byteQuota: 0 } as const;

export async function startHardeningServer(
  dataDir: string,
  extra: Partial<BuildServerOptions> = {},
): Promise<HardeningServer> {
  const clock: MovableClock = {
    now: new Date('2031-01-01T00:00:00.000Z'),
    advance(ms) {
      this.now = new Date(this.now.getTime() + ms);
    },
  };
  const { token: adminToken } = await initialiseAdmin({ dataDir, clock: () => clock.now });
  const server = await buildServer({ dataDir, port: 0, logLevel: false, clock: () => clock.now, ...extra });
  const url = server.url as string;
  const suffix = randomBytes(4).toString('hex');
  const call = <T>(method: string, path: string, body: unknown): Promise<T> =>
    adminApi<T>(url, adminToken, method, path, body);
  const org = await call<{ id: string }>('POST', '/orgs', { name: `org-${suffix}` });
  const ws = await call<{ id: string }>('POST', '/workspaces', { org: org.id, name: 'main' });
  const other = await call<{ id: string }>('POST', '/workspaces', { org: org.id, name: 'other' });
  const write = await call<{ token: string }>('POST', '/tokens', {
    kind: 'ci',
    workspaceId: ws.id,
    access: 'read-write',
    name: 'writer',
  });
  return {
    server,
    url,
    port: Number(new URL(url).port),
    dataDir,
    adminToken,
    clock,
    workspaceId: ws.id,
    otherWorkspaceId: other.id,
    writeToken: write.token,
    stop: () => server.close(),
  };
}

export async function adminApi<T>(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await request(`${url}/api/v1${path}`, {
    method: method as 'GET',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`${method} ${path} -> ${response.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

export interface CacheAnswer {
  status: number;
  body: Buffer;
}

export async function cacheGet(url: string, hash: string, token?: string): Promise<CacheAnswer> {
  const response = await request(`${url}/v1/cache/${hash}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.statusCode, body: Buffer.from(await response.body.arrayBuffer()) };
}

export async function cachePut(url: string, hash: string, body: Buffer, token?: string): Promise<number> {
  return (await cachePutAnswer(url, hash, body, token)).status;
}

/** The status and the one-line text answer, for failure messages. */
export async function cachePutAnswer(
  url: string,
  hash: string,
  body: Buffer,
  token?: string,
): Promise<{ status: number; text: string }> {
  const response = await request(`${url}/v1/cache/${hash}`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body,
  });
  return { status: response.statusCode, text: (await response.body.text()).slice(0, 300) };
}

export function dataDirIn(sandboxRoot: string): string {
  return join(sandboxRoot, 'data');
}
