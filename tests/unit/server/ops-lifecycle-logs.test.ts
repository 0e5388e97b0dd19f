/** The server says what it did to the database on start, and when (and on which signal) it begins and ends shutting down. */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { buildServer } from '../../../src/server/app';
import { migrationProvider } from '../../../src/server/metadata/migrations';
import { makeTempDir } from './test-server';

let dataDir: string;
beforeEach(() => {
  dataDir = makeTempDir('nxsc-lifecycle-logs-');
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

async function startAndStop(): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const server = await buildServer({
    dataDir,
    port: 0,
    logLevel: 'info',
    logDestination: { write: (line) => lines.push(line) },
  });
  await server.close();
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

it('logs the migrations a start applies (only when there were any), then the start and end of shutdown', async () => {
  const first = await startAndStop();
  const migrated = first.find((entry) => String(entry.msg).startsWith('metadata database migrated'));
  expect(migrated).toMatchObject({ migrations: expect.arrayContaining(['001-initial-schema']) });
  const messages = first.map((entry) => String(entry.msg));
  const shutting = messages.findIndex((m) => m.startsWith('shutting down'));
  expect(shutting).toBeGreaterThan(-1);
  expect(messages.indexOf('shut down cleanly')).toBeGreaterThan(shutting);
  expect(first.find((entry) => String(entry.msg).startsWith('shutting down'))).toMatchObject({
    graceMs: expect.any(Number),
  });

  const again = await startAndStop();
  expect(again.map((entry) => String(entry.msg)).filter((m) => m.startsWith('metadata database migrated'))).toEqual([]);
  expect(again.map((entry) => String(entry.msg))).toContain('shut down cleanly');
});

it('says the schema is up to date on a start that applied nothing, naming the latest migration', async () => {
  await startAndStop();
  const again = await startAndStop();
  const names = Object.keys(await migrationProvider.getMigrations()).sort();
  expect(again.find((entry) => entry.msg === 'metadata schema up to date')).toMatchObject({
    migrations: [],
    latest: names[names.length - 1],
  });
});

it('serve names the signal that stopped it, then says it shut down cleanly (the built CLI, a real SIGTERM)', async () => {
  const child = spawn(
    process.execPath,
    ['dist/src/cli/main.js', 'serve', '--data-dir', dataDir, '--port', '0', '--init-admin'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stdout = '';
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('"msg":"Server listening')) resolve();
      });
      child.once('exit', () => reject(new Error(`serve exited early: ${stdout}`)));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
  const messages = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const shutting = messages.find((entry) => String(entry.msg).startsWith('SIGTERM received; shutting down'));
  expect(shutting).toMatchObject({ signal: 'SIGTERM', graceMs: expect.any(Number) });
  expect(messages[messages.length - 1]).toMatchObject({ msg: 'shut down cleanly' });
});
