/**
 * Concurrency under load: hundreds of PUTs and GETs of overlapping hashes at once, for a bounded time.
 * Held per GET: a miss, or exactly the bytes of the one PUT that won for that hash (read once afterwards);
 * per hash: exactly one PUT answered 200, every other 409.
 */
import { Pool } from 'undici';
import { AreaRecord } from './support/area-record';
import {
  cacheGet,
  dataDirIn,
  startHardeningServer,
  supportedOptions,
  type HardeningServer,
} from './support/hardening-server';
import { createSandbox, filesUnder, type Sandbox } from './support/sandbox';
import { SeededRandom } from './support/seeded-random';

const record = new AreaRecord('Concurrency under load', __filename);
const HASHES = 24;
const BODIES_PER_HASH = 8;
const CONCURRENCY = 200;
const STORM_MS = 6_000;
const MAX_REQUESTS = 6_000;

let sandbox: Sandbox;
let ts: HardeningServer;

beforeAll(async () => {
  sandbox = createSandbox('load');
  // The 200 clients stand for 200 machines but all come from 127.0.0.1, so the per-address cap is off here.
  ts = await startHardeningServer(dataDirIn(sandbox.root), supportedOptions({ maxConnectionsPerAddress: 0 }));
});

afterAll(async () => {
  await ts?.stop();
  sandbox?.dispose();
  record.flush();
});

test('overlapping PUTs and GETs: every GET is a miss or the one committed body', async () => {
  const random = new SeededRandom(record.seed);
  const hashes = Array.from({ length: HASHES }, (_, i) => `load-${i}`);
  const bodies = new Map(
    hashes.map((hash) => [
      hash,
      Array.from({ length: BODIES_PER_HASH }, (_, j) =>
        Buffer.concat([Buffer.from(`${hash}/${j}/`), random.bytes(random.int(100, 100_000))]),
      ),
    ]),
  );
  const pool = new Pool(ts.url, { connections: CONCURRENCY, pipelining: 1 });
  const puts = new Map<string, number[]>(hashes.map((h) => [h, []]));
  const gets: { hash: string; status: number; body: Buffer }[] = [];
  const errors: string[] = [];
  const deadline = Date.now() + STORM_MS;
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < deadline && issued < MAX_REQUESTS) {
      issued += 1;
      const hash = random.pick(hashes);
      const headers = { authorization: `Bearer ${ts.writeToken}` };
      try {
        if (random.next() < 0.4) {
          const body = random.pick(bodies.get(hash) as Buffer[]);
          const answer = await pool.request({
            method: 'PUT',
            path: `/v1/cache/${hash}`,
            headers: { ...headers, 'content-length': String(body.length) },
            body,
          });
          await answer.body.dump();
          (puts.get(hash) as number[]).push(answer.statusCode);
        } else {
          const answer = await pool.request({ method: 'GET', path: `/v1/cache/${hash}`, headers });
          gets.push({ hash, status: answer.statusCode, body: Buffer.from(await answer.body.arrayBuffer()) });
        }
      } catch (err) {
        errors.push(`${hash}: ${(err as Error).message}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await pool.close();
  }
  record.note(
    `${issued} requests from ${CONCURRENCY} concurrent clients over ${STORM_MS} ms at most: ${gets.length} GETs, ${[...puts.values()].flat().length} PUTs`,
  );
  const winners = new Map<string, Buffer | null>();
  for (const hash of hashes) {
    const answer = await cacheGet(ts.url, hash, ts.writeToken);
    winners.set(hash, answer.status === 200 ? answer.body : null);
  }
  for (const [i, get] of gets.entries()) {
    await record.check(`GET #${i} ${get.hash}`, () => {
      if (get.status === 404) return undefined;
      if (get.status !== 200) return `answered ${get.status}`;
      const winner = winners.get(get.hash);
      return winner && winner.equals(get.body)
        ? undefined
        : `served ${get.body.length} bytes that are not the committed body`;
    });
  }
  for (const hash of hashes) {
    await record.check(`PUTs of ${hash}: one 200, the rest 409, the winner one of the bodies sent`, () => {
      const statuses = puts.get(hash) as number[];
      const stored = statuses.filter((s) => s === 200).length;
      const other = statuses.filter((s) => s !== 200 && s !== 409);
      const winner = winners.get(hash);
      if (statuses.length === 0) return winner === null ? undefined : 'an entry exists that nobody stored';
      if (stored !== 1 || other.length > 0) return `statuses ${JSON.stringify(statuses)}`;
      return winner && (bodies.get(hash) as Buffer[]).some((b) => b.equals(winner))
        ? undefined
        : 'the committed body is none of those sent';
    });
  }
  await record.check('no transport errors', () =>
    errors.length ? `${errors.length} errors, first: ${errors[0]}` : undefined,
  );
  await record.check('one blob per entry, nothing left in tmp/', () => {
    const blobs = filesUnder(`${ts.dataDir}/blobs`).length;
    const entries = [...winners.values()].filter((w) => w !== null).length;
    const tmp = filesUnder(`${ts.dataDir}/tmp`);
    return blobs === entries && tmp.length === 0
      ? undefined
      : `${blobs} blobs for ${entries} entries, ${tmp.length} files in tmp/`;
  });
  expect(record.describeFailures()).toEqual([]);
});
