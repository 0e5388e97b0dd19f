/**
 * Crashes: the real server process (`node dist/src/cli/main.js serve`) killed with SIGKILL in the middle of
 * many uploads, then restarted on the same data dir. Held: every GET is a miss or the exact bytes (and an
 * upload answered 200 before the kill survives), the database passes PRAGMA integrity_check, and retried
 * uploads succeed.
 */
import { join } from 'node:path';
import { Pool } from 'undici';
import {
  bootstrapWorkspace,
  createToken,
  killAllTrackedProcesses,
  startServer,
  type RunningServer,
} from '../e2e/harness';
import { AreaRecord } from './support/area-record';
import { cacheGet, cachePut } from './support/hardening-server';
import { integrityCheckOfCopy } from './support/integrity-check';
import { SeededRandom } from './support/seeded-random';

const record = new AreaRecord('Crashes', __filename);
const ROUNDS = 4;
const UPLOADS_PER_ROUND = 30;

let server: RunningServer;
let token: string;

beforeAll(async () => {
  server = await startServer();
  const boot = await bootstrapWorkspace(server);
  token = (
    await createToken(boot.target, {
      kind: 'ci',
      workspace: boot.workspace.id,
      access: 'read-write',
      name: 'crash-writer',
    })
  ).token;
});

afterAll(async () => {
  try {
    await server?.dispose();
  } finally {
    killAllTrackedProcesses();
    record.flush();
  }
});

/** Starts every upload at once and SIGKILLs the server after `killAfterMs`; returns each upload's status (null: cut off). */
async function uploadsCutByKill(bodies: Map<string, Buffer>, killAfterMs: number): Promise<Map<string, number | null>> {
  const pool = new Pool(server.url, { connections: 16 });
  const statuses = new Map<string, number | null>();
  const uploads = [...bodies].map(async ([hash, body]) => {
    try {
      const answer = await pool.request({
        method: 'PUT',
        path: `/v1/cache/${hash}`,
        headers: { authorization: `Bearer ${token}`, 'content-length': String(body.length) },
        body,
      });
      await answer.body.dump();
      statuses.set(hash, answer.statusCode);
    } catch {
      statuses.set(hash, null);
    }
  });
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  await server.kill('SIGKILL');
  await Promise.all(uploads);
  await pool.destroy();
  return statuses;
}

test('SIGKILL during uploads: no partial entry served, database consistent, retries succeed', async () => {
  const random = new SeededRandom(record.seed);
  const committed = new Map<string, Buffer>();
  for (let round = 0; round < ROUNDS; round += 1) {
    const bodies = new Map(
      Array.from(
        { length: UPLOADS_PER_ROUND },
        (_, i) => [`crash-${round}-${i}`, random.bytes(random.int(10_000, 600_000))] as const,
      ),
    );
    const killAfterMs = random.int(40, 900);
    const statuses = await uploadsCutByKill(bodies, killAfterMs);
    const answered = [...statuses.values()].filter((s) => s === 200).length;
    record.note(
      `round ${round}: SIGKILL after ${killAfterMs} ms, ${answered} of ${UPLOADS_PER_ROUND} uploads had answered 200`,
    );
    await record.check(`round ${round}: database integrity after the kill`, () => {
      const result = integrityCheckOfCopy(join(server.dataDir, 'metadata.sqlite'));
      return result === 'ok' ? undefined : `integrity_check: ${result}`;
    });
    await server.restart();
    for (const [hash, body] of bodies) {
      await record.check(`round ${round}: ${hash} after restart is a miss or exact`, async () => {
        const answer = await cacheGet(server.url, hash, token);
        if (answer.status === 404)
          return statuses.get(hash) === 200 ? 'answered 200 before the kill, lost after it' : undefined;
        if (answer.status !== 200) return `answered ${answer.status}`;
        return answer.body.equals(body)
          ? undefined
          : `served ${answer.body.length} bytes that are not the upload (${body.length})`;
      });
      await record.check(`round ${round}: ${hash} retried after restart`, async () => {
        const status = await cachePut(server.url, hash, body, token);
        if (status !== 200 && status !== 409) return `retry answered ${status}`;
        const answer = await cacheGet(server.url, hash, token);
        return answer.status === 200 && answer.body.equals(body)
          ? undefined
          : `after the retry GET answered ${answer.status}`;
      });
      committed.set(hash, body);
    }
  }
  await server.stop();
  await record.check('database integrity after a clean stop', () => {
    const result = integrityCheckOfCopy(join(server.dataDir, 'metadata.sqlite'));
    return result === 'ok' ? undefined : `integrity_check: ${result}`;
  });
  await server.restart();
  await record.check(`all ${committed.size} entries read back exactly at the end`, async () => {
    for (const [hash, body] of committed) {
      const answer = await cacheGet(server.url, hash, token);
      if (answer.status !== 200 || !answer.body.equals(body)) return `${hash} answered ${answer.status}`;
    }
    return undefined;
  });
  expect(record.describeFailures()).toEqual([]);
});
