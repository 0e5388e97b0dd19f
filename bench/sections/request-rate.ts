/**
 * Section 4: requests per second for authenticated GET hits (10 KiB entries) and misses at concurrency 1, 8 and 64,
 * our server against the reference server (no auth), with autocannon as the load generator in a process of its own.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';
import { runProcess } from '../../tests/e2e/harness/processes';
import type { BenchContext, Section } from '../lib/context';
import { type Comparison, type Measurement, type SectionResult, medianOf } from '../lib/report';
import { SampleSet, rotated } from '../lib/stats';
import { startOurServer, startReferenceProcess } from '../lib/servers';

const AUTOCANNON = join(REPO_ROOT, 'bench', 'node_modules', 'autocannon', 'autocannon.js');
const HIT_HASH = '1000000000000000001';
const MISS_HASH = '1000000000000000002';
const ENTRY_BYTES = 10 * 1024;

interface Target {
  name: string;
  url: string;
  token?: string;
}

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
  const res = await request(`${target.url}/v1/cache/${hash}`, { method: 'PUT', headers, body });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${target.name}: PUT answered ${res.statusCode}`);
}

/** Requests per second over `seconds`; throws if any answer had an unexpected status. */
async function measure(
  target: Target,
  hash: string,
  connections: number,
  seconds: number,
  expectHit: boolean,
): Promise<number> {
  const args = [AUTOCANNON, '--json', '-c', String(connections), '-d', String(seconds)];
  if (target.token) args.push('-H', `authorization=Bearer ${target.token}`);
  args.push(`${target.url}/v1/cache/${hash}`);
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

export const requestRate: Section = {
  id: 'request-rate',
  title: '4. Server request rate',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const seconds = ctx.quick ? 1 : 4;
    const repetitions = ctx.quick ? 1 : 3;
    const ours = await startOurServer();
    const reference = await startReferenceProcess(join(ctx.dir, 'reference-data'));
    try {
      const targets: Target[] = [
        { name: 'ours', url: ours.server.url, token: ours.token },
        { name: 'reference', url: reference.url },
      ];
      const body = randomBytes(ENTRY_BYTES);
      for (const target of targets) await putEntry(target, HIT_HASH, body);
      // Warm both servers (JIT, first connections) before anything is recorded.
      for (const target of targets) await measure(target, HIT_HASH, 8, 1, true);
      const measurements: Measurement[] = [];
      const comparisons: Comparison[] = [];
      for (const connections of [1, 8, 64]) {
        const samples = new SampleSet();
        for (let round = 0; round < repetitions; round++) {
          for (const [kind, hash] of [
            ['hit', HIT_HASH],
            ['miss', MISS_HASH],
          ] as const) {
            for (const target of rotated(targets, round)) {
              samples.add(`${target.name} ${kind}`, await measure(target, hash, connections, seconds, kind === 'hit'));
            }
          }
        }
        for (const kind of ['hit', 'miss']) {
          for (const target of targets) {
            const label = target.name === 'ours' ? 'ours, authenticated' : 'reference, no auth';
            measurements.push({
              name: `GET ${kind}, c=${connections}, ${label}`,
              unit: 'req/s',
              summary: samples.summary(`${target.name} ${kind}`),
            });
          }
          const ratio =
            medianOf(measurements, `GET ${kind}, c=${connections}, ours, authenticated`) /
            medianOf(measurements, `GET ${kind}, c=${connections}, reference, no auth`);
          comparisons.push({
            what: `GET ${kind}, concurrency ${connections}: requests/s`,
            ours: 'ours',
            baseline: 'reference',
            ratio,
            goal: { op: '>=', value: 0.8 },
          });
        }
        ctx.log(
          `  c=${connections}: ${comparisons
            .slice(-2)
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
          `token on every request; the reference server (tests/e2e/harness/reference-server.ts) has no auth.`,
        measurements,
        comparisons,
        notes: [],
      };
    } finally {
      reference.stop();
      await ours.server.dispose();
    }
  },
};
