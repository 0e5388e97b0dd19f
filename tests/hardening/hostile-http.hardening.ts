/**
 * Hostile HTTP against the real server on port 0, over raw sockets. Held per case: no 5xx anywhere (Nx
 * aborts a run on a 5xx from the cache GET route), the server still answers a health request, no file
 * appeared outside the data dir, and (checked at the end) no entry or blob was committed.
 */
import { AreaRecord } from './support/area-record';
import {
  NO_LIMITS,
  cacheGet,
  dataDirIn,
  startHardeningServer,
  supportedOptions,
  type HardeningServer,
} from './support/hardening-server';
import { generateHostileCases, type HostileCase } from './support/hostile-requests';
import { rawExchange } from './support/raw-http';
import { createSandbox, filesUnder, snapshotTree, treeChanges, type Sandbox } from './support/sandbox';
import { SeededRandom } from './support/seeded-random';

const CASE_COUNT = 400;
const PARALLEL = 8;
const HASH_POOL = Array.from({ length: 12 }, (_, i) => `hostile-${i}`);

const record = new AreaRecord('Hostile HTTP', __filename);
let sandbox: Sandbox;
let ts: HardeningServer;

beforeAll(async () => {
  sandbox = createSandbox('http');
  // Limits off: this area judges the parser and routes on every request, not the brute-force limiter.
  ts = await startHardeningServer(dataDirIn(sandbox.root), supportedOptions(NO_LIMITS));
});

afterAll(async () => {
  await ts?.stop();
  sandbox?.dispose();
  record.flush();
});

async function healthy(): Promise<string | undefined> {
  const answer = await cacheGet(ts.url, HASH_POOL[0] as string, ts.writeToken);
  return answer.status === 404 ? undefined : `health request answered ${answer.status}`;
}

const statusCounts = new Map<string, number>();

async function runCase(hostile: HostileCase): Promise<string | undefined> {
  const response = await rawExchange(ts.port, hostile.steps, { idleMs: 700 });
  const key = String(response.status ?? 'no answer');
  statusCounts.set(key, (statusCounts.get(key) ?? 0) + 1);
  if (response.status !== null && response.status >= 500) {
    return `answered ${response.status}${hostile.cacheGet ? ' on the cache GET route' : ''}: ${response.received.subarray(0, 160).toString('latin1')}`;
  }
  return healthy();
}

test('hostile requests: no 5xx, still answering, nothing written outside, nothing committed', async () => {
  const random = new SeededRandom(record.seed);
  const cases = generateHostileCases(
    random,
    { workspaceId: ts.workspaceId, validToken: ts.writeToken, hashes: HASH_POOL },
    CASE_COUNT,
  );
  const outside = snapshotTree(sandbox.root, [ts.dataDir]);
  for (let start = 0; start < cases.length; start += PARALLEL) {
    const batch = cases.slice(start, start + PARALLEL);
    const reasons = await Promise.all(
      batch.map((hostile) => runCase(hostile).catch((err: Error) => `threw: ${err.message}`)),
    );
    const changes = treeChanges(outside, snapshotTree(sandbox.root, [ts.dataDir]));
    for (const [i, hostile] of batch.entries()) {
      await record.check(
        hostile.name,
        () =>
          reasons[i] ??
          (changes.length > 0 ? `files changed outside the data dir: ${changes.slice(0, 3).join(', ')}` : undefined),
      );
    }
  }
  await record.check('after the storm: no entry committed for any hash named', async () => {
    const found = [];
    for (const hash of HASH_POOL) {
      const answer = await cacheGet(ts.url, hash, ts.writeToken);
      if (answer.status !== 404) found.push(`${hash} -> ${answer.status}`);
    }
    return found.length ? `entries exist: ${found.join(', ')}` : undefined;
  });
  await record.check('after the storm: no blob and no upload left on disk', async () => {
    // Aborted uploads clean up asynchronously; give them a bounded moment.
    for (let attempt = 0; attempt < 20 && filesUnder(`${ts.dataDir}/tmp`).length > 0; attempt += 1)
      await new Promise((r) => setTimeout(r, 100));
    const leftovers = [
      ...filesUnder(`${ts.dataDir}/blobs`).map((f) => `blobs/${f}`),
      ...filesUnder(`${ts.dataDir}/tmp`).map((f) => `tmp/${f}`),
    ];
    return leftovers.length ? `left on disk: ${leftovers.slice(0, 5).join(', ')}` : undefined;
  });
  record.note(
    `answers seen: ${[...statusCounts]
      .sort()
      .map(([status, n]) => `${status} x${n}`)
      .join(', ')}`,
  );
  expect(record.describeFailures()).toEqual([]);
});
