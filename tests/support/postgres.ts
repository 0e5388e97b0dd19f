/**
 * A PostgreSQL for tests: the server named by NX_SEALED_CACHE_TEST_DATABASE_URL (CI starts Debian's
 * postgresql), else PGlite (PostgreSQL compiled to WebAssembly, from npm) behind pglite-socket, so
 * the real `pg` driver speaks the real wire protocol to it either way.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { spawnTracked } from '../e2e/harness/processes';

export const TEST_DATABASE_URL_ENV = 'NX_SEALED_CACHE_TEST_DATABASE_URL';

export interface TestPostgres {
  /** `pglite` or `server` (a real multi-process PostgreSQL). */
  kind: 'pglite' | 'server';
  /** A database of its own, empty at first. */
  url: string;
  /** Empties the database again (drops and recreates the public schema). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const resetSchema = (url: string) => () =>
  withClient(url, async (c) => {
    await c.query('drop schema public cascade');
    await c.query('create schema public');
  });

/** Whether startTestPostgres() gives a real server (known before it starts, for skipping tests). */
export function testPostgresIsServer(): boolean {
  return (process.env[TEST_DATABASE_URL_ENV] ?? '') !== '';
}

/** `serverUrl`: a server to make the database on (default: the env var above); unset or empty: a PGlite of its own. */
export async function startTestPostgres(
  serverUrl: string | undefined = process.env[TEST_DATABASE_URL_ENV],
): Promise<TestPostgres> {
  if (serverUrl !== undefined && serverUrl !== '') {
    const name = `nxsc_test_${randomBytes(6).toString('hex')}`;
    await withClient(serverUrl, (c) => c.query(`create database ${name}`));
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      kind: 'server',
      url: url.toString(),
      reset: resetSchema(url.toString()),
      stop: () =>
        withClient(serverUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
    };
  }
  const { child, address } = await spawnPglite();
  const url = `postgres://postgres@${address}/postgres`;
  return {
    kind: 'pglite',
    url,
    reset: resetSchema(url),
    stop: () => stopChild(child),
  };
}

/**
 * pglite-socket's own server script, in a child process: PGlite's CommonJS build loads parts of
 * itself with dynamic import(), which jest's module sandbox refuses. One session, multiplexed
 * over up to 64 connections (transactions stay whole).
 */
async function spawnPglite(): Promise<{ child: ChildProcess; address: string }> {
  const script = join(__dirname, '../../node_modules/@electric-sql/pglite-socket/dist/scripts/server.cjs');
  // Tracked, so a run that ends early (the bench's Ctrl-C, a test file's last resort) still ends it.
  const child = spawnTracked(process.execPath, [script, '--port=0', '--host=127.0.0.1', '--max-connections=64'], {
    cwd: process.cwd(),
    env: process.env,
  });
  child.stdin?.end();
  let output = '';
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (\{.*\})/.exec(output);
      if (match?.[1] !== undefined) {
        const { host, port } = JSON.parse(match[1]) as { host: string; port: number };
        resolve(`${host}:${port}`);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) =>
      reject(new Error(`pglite-server exited (${String(code)}) before listening: ${output}`)),
    );
  });
  return { child, address };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}
