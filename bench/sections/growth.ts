/**
 * Section 6: lookup (GET hit) and store (PUT) latency of `nx-sealed-cache serve` with a small and a large number of
 * stored entries. The large database is seeded directly: one real entry, cloned in SQL in one transaction, every
 * clone pointing at the same small blob (the metadata grows, the blob folder does not).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Database } from 'node-sqlite3-wasm';
import { request } from 'undici';
import type { BenchContext, Section } from '../lib/context';
import { type Comparison, type Measurement, type SectionResult, medianOf } from '../lib/report';
import { type OurServer, startOurServer } from '../lib/servers';
import { SampleSet, median, rotated } from '../lib/stats';

const BASE_HASH = 2_000_000_000_000;
const ENTRY_BYTES = 10 * 1024;

interface SeededServer {
  label: string;
  entries: number;
  ours: OurServer;
  nextPutHash: number;
}

/** Clones the row of `seedHash` into hashes BASE_HASH + 1 .. BASE_HASH + count - 1, whatever the table's columns are. */
function seedEntries(metadataFile: string, seedHash: string, count: number): void {
  const db = new Database(metadataFile, { fileMustExist: true });
  try {
    const columns = (db.all('PRAGMA table_info(entries)') as Array<{ name: string }>)
      .map((c) => c.name)
      .filter((c) => c !== 'id' && c !== 'hash');
    const list = columns.join(', ');
    db.exec('BEGIN');
    db.run(
      `INSERT INTO entries (${list}, hash)
       WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${count - 1})
       SELECT ${columns.map((c) => `seed.${c}`).join(', ')}, CAST(${BASE_HASH} + seq.n AS TEXT)
       FROM seq, (SELECT * FROM entries WHERE hash = ?) AS seed`,
      [seedHash],
    );
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}

async function put(server: SeededServer, hash: string, body: Buffer): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await request(`${server.ours.server.url}/v1/cache/${hash}`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${server.ours.token}`,
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
    },
    body,
  });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${server.label}: PUT ${hash} answered ${res.statusCode}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function get(server: SeededServer, hash: string): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await request(`${server.ours.server.url}/v1/cache/${hash}`, {
    headers: { authorization: `Bearer ${server.ours.token}` },
  });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${server.label}: GET ${hash} answered ${res.statusCode}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function startSeeded(entries: number, body: Buffer, ctx: BenchContext): Promise<SeededServer> {
  const ours = await startOurServer();
  const server: SeededServer = {
    label: `${entries.toLocaleString('en')} entries`,
    entries,
    ours,
    nextPutHash: BASE_HASH + entries + 1,
  };
  try {
    await put(server, String(BASE_HASH), body);
    await ours.server.stop();
    const started = Date.now();
    seedEntries(join(ours.server.dataDir, 'metadata.sqlite'), String(BASE_HASH), entries);
    ctx.log(`  seeded ${server.label} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await ours.server.restart();
    return server;
  } catch (err) {
    await ours.server.dispose();
    throw err;
  }
}

/** One round on one server: median GET latency over random stored hashes, median PUT latency of new entries. */
async function measureRound(
  server: SeededServer,
  gets: number,
  puts: number,
  body: Buffer,
): Promise<{ get: number; put: number }> {
  const getLatencies: number[] = [];
  for (let i = 0; i < gets; i++)
    getLatencies.push(await get(server, String(BASE_HASH + Math.floor(Math.random() * server.entries))));
  const putLatencies: number[] = [];
  for (let i = 0; i < puts; i++) putLatencies.push(await put(server, String(server.nextPutHash++), body));
  return { get: median(getLatencies), put: median(putLatencies) };
}

export const growth: Section = {
  id: 'growth',
  title: '6. Growth',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const sizes = ctx.quick ? [1_000, 10_000] : [10_000, 1_000_000];
    const rounds = ctx.quick ? 2 : 5;
    const gets = ctx.quick ? 60 : 300;
    const puts = ctx.quick ? 6 : 30;
    const body = randomBytes(ENTRY_BYTES);
    const servers: SeededServer[] = [];
    try {
      for (const entries of sizes) servers.push(await startSeeded(entries, body, ctx));
      for (const server of servers) await measureRound(server, 50, 5, body);
      const samples = new SampleSet();
      for (let round = 0; round < rounds; round++) {
        for (const server of rotated(servers, round)) {
          const result = await measureRound(server, gets, puts, body);
          samples.add(`GET ${server.label}`, result.get);
          samples.add(`PUT ${server.label}`, result.put);
        }
      }
      const measurements: Measurement[] = [];
      const comparisons: Comparison[] = [];
      const [small, large] = servers as [SeededServer, SeededServer];
      for (const op of ['GET', 'PUT']) {
        for (const server of servers)
          measurements.push({
            name: `${op} with ${server.label}`,
            unit: 'ms',
            summary: samples.summary(`${op} ${server.label}`),
          });
        const ratio =
          medianOf(measurements, `${op} with ${large.label}`) / medianOf(measurements, `${op} with ${small.label}`);
        const what = op === 'GET' ? 'lookup (GET hit) latency' : 'store (PUT) latency';
        comparisons.push({
          what: `${what}, ${large.label} vs ${small.label}`,
          ours: large.label,
          baseline: small.label,
          ratio,
          goal: { op: '<=', value: 1.5 },
        });
      }
      return {
        id: this.id,
        title: this.title,
        method:
          `Two servers, one seeded with ${small.label} and one with ${large.label} (one real ${ENTRY_BYTES / 1024} KiB entry cloned in SQL ` +
          `in one transaction, all sharing its blob). Per round and server: ${gets} sequential GETs of random stored hashes and ${puts} ` +
          `PUTs of new ${ENTRY_BYTES / 1024} KiB entries (keep-alive, CI token); the figure per round is the median latency; ${rounds} ` +
          `interleaved rounds after a warm-up.`,
        measurements,
        comparisons,
        notes: [],
      };
    } finally {
      for (const server of servers) await server.ours.server.dispose();
    }
  },
};
