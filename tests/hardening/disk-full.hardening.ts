/**
 * Disk full: the data dir on a real 4 MiB tmpfs when this machine lets us mount one (root), otherwise a
 * BlobStore wrapper that throws ENOSPC after a byte budget. Held: writes are refused with 403 (Nx skips
 * the upload and goes on), earlier entries still read back exactly, nothing half-written stays in tmp/ or blobs/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { AreaRecord } from './support/area-record';
import { cacheGet, cachePutAnswer, startHardeningServer, type HardeningServer } from './support/hardening-server';
import { createSandbox, filesUnder, type Sandbox } from './support/sandbox';
import { SeededRandom } from './support/seeded-random';
import type { BlobStore } from '../../src/server/storage/blob-store';

const record = new AreaRecord('Disk full', __filename);
const ATTEMPTS = 40;
const WRAPPER_BUDGET_BYTES = 3 * 1024 * 1024;

let sandbox: Sandbox;
let ts: HardeningServer;
let mounted: string | undefined;

function tryMountTmpfs(dir: string): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Counts bytes written through it and fails like a full disk once the budget is spent. */
function enospcAfter(inner: BlobStore, budget: number): BlobStore {
  let used = 0;
  return {
    open: (key) => inner.open(key),
    delete: (key) => inner.delete(key),
    put: (key, body, expectedSize) => {
      async function* metered(): AsyncIterable<Buffer> {
        for await (const chunk of body) {
          used += chunk.length;
          if (used > budget)
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          yield chunk;
        }
      }
      return inner.put(key, metered(), expectedSize);
    },
  };
}

beforeAll(async () => {
  sandbox = createSandbox('diskfull');
  const dataDir = sandbox.dir('data');
  mkdirSync(dataDir);
  if (tryMountTmpfs(dataDir)) mounted = dataDir;
  ts = await startHardeningServer(dataDir);
  if (mounted) record.note('storage: a real 4 MiB tmpfs mounted on the data dir');
  else {
    ts.server.context.blobs = enospcAfter(ts.server.context.blobs, WRAPPER_BUDGET_BYTES);
    record.note(
      `storage: a BlobStore wrapper failing with ENOSPC after ${WRAPPER_BUDGET_BYTES} bytes (no tmpfs mount possible here)`,
    );
  }
});

afterAll(async () => {
  try {
    await ts?.stop();
  } finally {
    // A lazy unmount still detaches the tmpfs if something holds a file open.
    if (mounted) execFileSync('umount', ['-l', mounted], { stdio: 'ignore', timeout: 10_000 });
    sandbox?.dispose();
    record.flush();
  }
});

test('writes past a full disk are refused with 403, reads keep working, nothing half-written remains', async () => {
  const random = new SeededRandom(record.seed);
  const stored = new Map<string, Buffer>();
  let refusals = 0;
  for (let i = 0; i < ATTEMPTS; i += 1) {
    const hash = `full-${i}`;
    const body = random.bytes(random.int(64 * 1024, 400 * 1024));
    await record.check(`PUT #${i} (${body.length} bytes)`, async () => {
      const { status, text } = await cachePutAnswer(ts.url, hash, body, ts.writeToken);
      if (status === 200) stored.set(hash, body);
      else if (status === 403) refusals += 1;
      else return `answered ${status} (Nx tolerates 200, 403, 409): ${text}`;
      const earlier = [...stored.entries()].slice(-3);
      for (const [oldHash, oldBody] of earlier) {
        const answer = await cacheGet(ts.url, oldHash, ts.writeToken);
        if (answer.status !== 200 || !answer.body.equals(oldBody))
          return `earlier entry ${oldHash} read back as ${answer.status}`;
      }
      const miss = await cacheGet(ts.url, hash, ts.writeToken);
      if (status === 403 && miss.status !== 404) return `refused entry answers ${miss.status}`;
      return undefined;
    });
  }
  await record.check('the disk did fill up (some writes were refused)', () =>
    refusals > 0 ? undefined : 'no write was refused: the test did not reach a full disk',
  );
  await record.check('every stored entry still reads back exactly', async () => {
    for (const [hash, body] of stored) {
      const answer = await cacheGet(ts.url, hash, ts.writeToken);
      if (answer.status !== 200 || !answer.body.equals(body)) return `${hash} answered ${answer.status}`;
    }
    return undefined;
  });
  await record.check('nothing half-written in tmp/ or blobs/', () => {
    const tmp = filesUnder(`${ts.dataDir}/tmp`);
    const blobs = filesUnder(`${ts.dataDir}/blobs`);
    if (tmp.length > 0) return `left in tmp/: ${tmp.slice(0, 3).join(', ')}`;
    return blobs.length === stored.size ? undefined : `${blobs.length} blobs for ${stored.size} entries`;
  });
  record.note(`${stored.size} writes stored, ${refusals} refused`);
  expect(record.describeFailures()).toEqual([]);
});
