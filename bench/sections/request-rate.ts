/**
 * Section 4: requests per second for authenticated GET hits (10 KiB entries) and misses at concurrency 1, 8 and 64,
 * our server against the reference server (no auth), with autocannon as the load generator in a process of its own.
 * Ours runs on the embedded store and on PostgreSQL + S3 with one replica and with two (the connections split evenly).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';
import { runProcess } from '../../tests/e2e/harness/processes';
import type { BenchContext, Section } from '../lib/context';
import { type Comparison, type Measurement, type SectionResult, medianOf } from '../lib/report';
import { SampleSet, rotated } from '../lib/stats';
import { type ReplicaPair, startOurServer, startReferenceProcess, startReplicaPair } from '../lib/servers';
import { type SharedStorage, startSharedStorage } from '../lib/shared-storage';

const AUTOCANNON = join(REPO_ROOT, 'bench', 'node_modules', 'autocannon', 'autocannon.js');
const HIT_HASH = '1000000000000000001';
const MISS_HASH = '1000000000000000002';
const ENTRY_BYTES = 10 * 1024;

interface Target {
  name: string;
  /** How measurement names call it. */
  label: string;
  /** One URL per replica; the connections are split evenly over them. */
  urls: string[];
  token?: string;
}

const SHARED = 'PostgreSQL + S3';
/** The reference server plus one PostgreSQL round trip a request: the floor for a replica that caches no credential. */
const FLOOR = 'floor: reference + 1 round trip';

interface AutocannonResult {
  requests: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  '4xx': number;
}

async function putEntry(target: Target, hash: string, body: Buffer): Promise<void> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(body.length),
  };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  const res = await request(`${target.urls[0]}/v1/cache/${hash}`, { method: 'PUT', headers, body });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${target.name}: PUT answered ${res.statusCode}`);
}

/** One autocannon process on one URL: its requests per second; throws if any answer had an unexpected status. */
async function measureOne(
  target: Target,
  url: string,
  connections: number,
  seconds: number,
  expectHit: boolean,
): Promise<number> {
  const args = [AUTOCANNON, '--json', '-c', String(connections), '-d', String(seconds)];
  if (target.token) args.push('-H', `authorization=Bearer ${target.token}`);
  args.push(url);
  const result = await runProcess(process.execPath, args, {
    cwd: REPO_ROOT,
    env: process.env,
    timeoutMs: (seconds + 30) * 1000,
  });
  if (result.exitCode !== 0) throw new Error(`autocannon failed: ${result.stderr.slice(-2000)}`);
  const parsed = JSON.parse(result.stdout) as AutocannonResult;
  const wrong = expectHit ? parsed.non2xx : parsed['2xx'] + (parsed.non2xx - parsed['4xx']);
  if (parsed.errors || parsed.timeouts || wrong) {
    throw new Error(
      `${target.name}: ${parsed.errors} errors, ${parsed.timeouts} timeouts, ${wrong} unexpected statuses at -c ${connections}`,
    );
  }
  return parsed.requests.average;
}

/** Requests per second of the whole target: one autocannon per replica at once, `connections` split evenly. */
async function measure(
  target: Target,
  hash: string,
  connections: number,
  seconds: number,
  expectHit: boolean,
): Promise<number> {
  const each = connections / target.urls.length;
  const rates = await Promise.all(
    target.urls.map((url) => measureOne(target, `${url}/v1/cache/${hash}`, each, seconds, expectHit)),
  );
  return rates.reduce((sum, rate) => sum + rate, 0);
}

/** Whether `connections` split evenly over the target's replicas (one connection cannot be spread over two). */
const fits = (target: Target, connections: number): boolean =>
  connections >= target.urls.length && connections % target.urls.length === 0;

export const requestRate: Section = {
  id: 'request-rate',
  title: '4. Server request rate',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const seconds = ctx.quick ? 1 : 4;
    const repetitions = ctx.quick ? 1 : 3;
    const ours = await startOurServer(join(ctx.dir, 'ours-data'));
    let reference: Awaited<ReturnType<typeof startReferenceProcess>> | undefined;
    let floor: Awaited<ReturnType<typeof startReferenceProcess>> | undefined;
    let storage: SharedStorage | undefined;
    let pair: ReplicaPair | undefined;
    try {
      reference = await startReferenceProcess(join(ctx.dir, 'reference-data'));
      storage = await startSharedStorage(ctx.dir);
      pair = await startReplicaPair(storage.postgres, storage.s3, 'request-rate', ctx.dir);
      floor = await startReferenceProcess(join(ctx.dir, 'floor-data'), pair.databaseUrl);
      const targets: Target[] = [
        { name: 'ours', label: 'ours, authenticated', urls: [ours.server.url], token: ours.token },
        { name: 'reference', label: 'reference, no auth', urls: [reference.url] },
        {
          name: `${storage.label}, 1 replica`,
          label: `ours, ${storage.label}, 1 replica`,
          urls: [pair.urls[0]],
          token: pair.token,
        },
        {
          name: `${storage.label}, 2 replicas`,
          label: `ours, ${storage.label}, 2 replicas`,
          urls: pair.urls,
          token: pair.token,
        },
      ];
      // The floor for the PostgreSQL rows: the reference server, waiting for one PostgreSQL round trip a request.
      const floorTarget: Target = {
        name: FLOOR,
        label: `reference, one ${storage.label.split(' + ')[0]} round trip a request, no auth`,
        urls: [floor.url],
      };
      targets.push(floorTarget);
      const body = randomBytes(ENTRY_BYTES);
      // The two shared-storage targets share one entry (stored once, through replica 1).
      for (const target of [...targets.slice(0, 3), floorTarget]) await putEntry(target, HIT_HASH, body);
      // Warm every server (JIT, first connections) before anything is recorded.
      for (const target of targets) await measure(target, HIT_HASH, 8, 1, true);
      const measurements: Measurement[] = [];
      const comparisons: Comparison[] = [];
      for (const connections of [1, 8, 64]) {
        const measured = targets.filter((target) => fits(target, connections));
        const samples = new SampleSet();
        for (let round = 0; round < repetitions; round++) {
          for (const [kind, hash] of [
            ['hit', HIT_HASH],
            ['miss', MISS_HASH],
          ] as const) {
            for (const target of rotated(measured, round)) {
              samples.add(`${target.name} ${kind}`, await measure(target, hash, connections, seconds, kind === 'hit'));
            }
          }
        }
        for (const kind of ['hit', 'miss']) {
          const nameOf = (target: Target): string => `GET ${kind}, c=${connections}, ${target.label}`;
          for (const target of measured) {
            measurements.push({
              name: nameOf(target),
              unit: 'req/s',
              summary: samples.summary(`${target.name} ${kind}`),
            });
          }
          const baseline = medianOf(measurements, nameOf(targets[1]!));
          const floorRate = medianOf(measurements, nameOf(floorTarget));
          for (const target of measured.filter((t) => t.name !== 'reference')) {
            const shared = target.name !== 'ours' && target.name !== FLOOR;
            comparisons.push({
              what: `GET ${kind}, concurrency ${connections}: requests/s${target.name === 'ours' ? '' : `, ${target.name}`}`,
              ours: target.name,
              baseline: 'reference',
              ratio: medianOf(measurements, nameOf(target)) / baseline,
              ...(target.name === FLOOR ? {} : { goal: { op: '>=' as const, value: 0.8 } }),
            });
            if (shared) {
              comparisons.push({
                what: `GET ${kind}, concurrency ${connections}: requests/s, ${target.name} vs the floor (what ours adds to one round trip)`,
                ours: target.name,
                baseline: FLOOR,
                ratio: medianOf(measurements, nameOf(target)) / floorRate,
                goal: { op: '>=', value: 0.8 },
              });
            }
          }
        }
        ctx.log(
          `  c=${connections}: ${comparisons
            .filter((c) => c.what.includes(`concurrency ${connections}:`))
            .map((c) => `${c.what} ${c.ratio.toFixed(2)}`)
            .join(', ')}`,
        );
      }
      return {
        id: this.id,
        title: this.title,
        method:
          `autocannon 8 (its own process, keep-alive, one URL) for ${seconds} s per measurement, ${repetitions} interleaved round(s) ` +
          `after a warm-up; hits fetch one stored ${ENTRY_BYTES / 1024} KiB entry, misses an absent hash (404). Ours checks a CI ` +
          `token on every request; the reference server (tests/e2e/harness/reference-server.ts) has no auth. ` +
          `${SHARED}: two \`serve\` processes on one PostgreSQL database and one S3 bucket, each with a data dir of its ` +
          `own; "1 replica" loads replica 1 alone, "2 replicas" runs one autocannon per replica at once with half the ` +
          `connections each (the figure is their sum), so c=1 has no two-replica row. The floor is the reference server waiting, before each answer, for one prepared \`select 1\` on the replicas' database (a pool of 10, as theirs): the least a replica can do per request and still refuse a revoked token at once. All of it (servers, databases, s3rver, autocannon) shares one machine's cores.`,
        measurements,
        comparisons,
        notes: [storage.description],
      };
    } finally {
      try {
        await pair?.stop();
        await storage?.stop();
      } finally {
        reference?.stop();
        floor?.stop();
        await ours.server.dispose();
      }
    }
  },
};
