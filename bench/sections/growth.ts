/**
 * Section 6: lookup (GET hit) and store (PUT) latency of `nx-sealed-cache serve` with a small and a large number of
 * stored entries, on the embedded store and on PostgreSQL + S3 (one replica, and two taking turns). The large
 * database is seeded directly: one real entry, cloned in SQL in one transaction, every clone pointing at the same
 * small blob (the metadata grows, the blob folder or bucket does not).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Database } from 'node-sqlite3-wasm';
import { Client } from 'pg';
import { request } from 'undici';
import type { BenchContext, Section } from '../lib/context';
import { type Comparison, type Measurement, type SectionResult, medianOf } from '../lib/report';
import { type OurServer, type ReplicaPair, startOurServer, startReplicaPair } from '../lib/servers';
import { type SharedStorage, startSharedStorage } from '../lib/shared-storage';
import { SampleSet, median, rotated } from '../lib/stats';

const BASE_HASH = 2_000_000_000_000;
const ENTRY_BYTES = 10 * 1024;
const SHARED = 'PostgreSQL + S3';

/** One way of serving one seeded database: the URLs its requests take turns over. */
interface SeededServer {
  /** `10,000 entries`, the size's label. */
  label: string;
  /** '' for the embedded store, else `, PostgreSQL + S3, 1 replica` and the like. */
  setup: string;
  entries: number;
  urls: string[];
  token: string;
  /** Shared by the variants of one database, so no PUT hash is used twice. */
  puts: { next: number };
  /** Requests so far, for taking turns over `urls`. */
  sent: number;
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

/** The same clone in PostgreSQL (generate_series), then ANALYZE, as autovacuum would after a bulk load. */
async function seedPostgresEntries(url: string, seedHash: string, count: number): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const columns = (
      await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'entries'`,
      )
    ).rows
      .map((c) => c.column_name)
      .filter((c) => c !== 'id' && c !== 'hash');
    const list = columns.map((c) => `"${c}"`).join(', ');
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO entries (${list}, hash)
       SELECT ${columns.map((c) => `seed."${c}"`).join(', ')}, CAST(${BASE_HASH} + n AS TEXT)
       FROM generate_series(1, ${count - 1}) AS n, (SELECT * FROM entries WHERE hash = $1) AS seed`,
      [seedHash],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE entries');
  } finally {
    await client.end();
  }
}

function nextUrl(server: SeededServer): string {
  return server.urls[server.sent++ % server.urls.length]!;
}

async function put(server: SeededServer, hash: string, body: Buffer): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await request(`${nextUrl(server)}/v1/cache/${hash}`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${server.token}`,
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
    },
    body,
  });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${server.label}${server.setup}: PUT ${hash} answered ${res.statusCode}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function get(server: SeededServer, hash: string): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await request(`${nextUrl(server)}/v1/cache/${hash}`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${server.label}${server.setup}: GET ${hash} answered ${res.statusCode}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const sizeLabel = (entries: number): string => `${entries.toLocaleString('en')} entries`;

async function startSeeded(
  entries: number,
  body: Buffer,
  ctx: BenchContext,
  owned: OurServer[],
): Promise<SeededServer> {
  const ours = await startOurServer(join(ctx.dir, `embedded-${entries}`));
  owned.push(ours);
  const server: SeededServer = {
    label: sizeLabel(entries),
    setup: '',
    entries,
    urls: [ours.server.url],
    token: ours.token,
    puts: { next: BASE_HASH + entries + 1 },
    sent: 0,
  };
  await put(server, String(BASE_HASH), body);
  await ours.server.stop();
  const started = Date.now();
  seedEntries(join(ours.server.dataDir, 'metadata.sqlite'), String(BASE_HASH), entries);
  ctx.log(`  seeded ${server.label} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await ours.server.restart();
  return server;
}

/** Two replicas on a database of their own, seeded while they serve; served by one of them, and by both in turn. */
async function startSeededPair(
  entries: number,
  body: Buffer,
  ctx: BenchContext,
  storage: SharedStorage,
  owned: ReplicaPair[],
): Promise<SeededServer[]> {
  const pair = await startReplicaPair(storage.postgres, storage.s3, `growth-${entries}`, ctx.dir);
  owned.push(pair);
  const puts = { next: BASE_HASH + entries + 1 };
  const variant = (setup: string, urls: string[]): SeededServer => ({
    label: sizeLabel(entries),
    setup: `, ${storage.label}, ${setup}`,
    entries,
    urls,
    token: pair.token,
    puts,
    sent: 0,
  });
  const variants = [variant('1 replica', [pair.urls[0]]), variant('2 replicas', pair.urls)];
  await put(variants[0]!, String(BASE_HASH), body);
  const started = Date.now();
  await seedPostgresEntries(pair.databaseUrl, String(BASE_HASH), entries);
  ctx.log(`  seeded ${sizeLabel(entries)} in PostgreSQL in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return variants;
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
  for (let i = 0; i < puts; i++) putLatencies.push(await put(server, String(server.puts.next++), body));
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
    const embedded: OurServer[] = [];
    const pairs: ReplicaPair[] = [];
    let storage: SharedStorage | undefined;
    try {
      for (const entries of sizes) servers.push(await startSeeded(entries, body, ctx, embedded));
      storage = await startSharedStorage(ctx.dir);
      for (const entries of sizes) servers.push(...(await startSeededPair(entries, body, ctx, storage, pairs)));
      for (const server of servers) await measureRound(server, 50, 5, body);
      const samples = new SampleSet();
      const key = (op: string, server: SeededServer): string => `${op} with ${server.label}${server.setup}`;
      for (let round = 0; round < rounds; round++) {
        for (const server of rotated(servers, round)) {
          const result = await measureRound(server, gets, puts, body);
          samples.add(key('GET', server), result.get);
          samples.add(key('PUT', server), result.put);
        }
      }
      const measurements: Measurement[] = [];
      const comparisons: Comparison[] = [];
      const setups = [...new Set(servers.map((s) => s.setup))];
      const [smallLabel, largeLabel] = sizes.map(sizeLabel) as [string, string];
      for (const op of ['GET', 'PUT']) {
        for (const setup of setups) {
          const [small, large] = servers.filter((s) => s.setup === setup) as [SeededServer, SeededServer];
          for (const server of [small, large])
            measurements.push({ name: key(op, server), unit: 'ms', summary: samples.summary(key(op, server)) });
          const what = op === 'GET' ? 'lookup (GET hit) latency' : 'store (PUT) latency';
          comparisons.push({
            what: `${what}, ${large.label} vs ${small.label}${setup}`,
            ours: large.label,
            baseline: small.label,
            ratio: medianOf(measurements, key(op, large)) / medianOf(measurements, key(op, small)),
            goal: { op: '<=', value: 1.5 },
          });
        }
      }
      return {
        id: this.id,
        title: this.title,
        method:
          `Two servers, one seeded with ${smallLabel} and one with ${largeLabel} (one real ${ENTRY_BYTES / 1024} KiB entry cloned in SQL ` +
          `in one transaction, all sharing its blob). Per round and server: ${gets} sequential GETs of random stored hashes and ${puts} ` +
          `PUTs of new ${ENTRY_BYTES / 1024} KiB entries (keep-alive, CI token); the figure per round is the median latency; ${rounds} ` +
          `interleaved rounds after a warm-up. ${SHARED}: per size, two \`serve\` processes on a PostgreSQL database of ` +
          `their own and one S3 bucket (a prefix each), seeded with INSERT ... SELECT FROM generate_series then ANALYZE; ` +
          `"1 replica" sends every request to replica 1, "2 replicas" alternates requests between the two.`,
        measurements,
        comparisons,
        notes: [storage.description],
      };
    } finally {
      try {
        for (const pair of pairs) await pair.stop();
        await storage?.stop();
      } finally {
        for (const ours of embedded) await ours.server.dispose();
      }
    }
  },
};
