/** The server says what it did to the database on start, and when it begins and ends shutting down. */
import { rmSync } from 'node:fs';
import { buildServer } from '../../../src/server/app';
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
