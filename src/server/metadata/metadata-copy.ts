/**
 * The metadata part of `storage migrate`: every table of a stopped data dir's SQLite file copied into a
 * PostgreSQL database that the same migrations made. A table at a time, each in one transaction, parents
 * before children (foreign keys), ids kept and identity sequences moved past them. Resumable: a table whose
 * rows the target already holds is skipped; one holding other rows is refused. Verified: at the end every
 * table's row count and checksum (order-free, over every column) must be the same on both sides.
 */
import { createHash } from 'node:crypto';
import type { Database as WasmDatabase } from 'node-sqlite3-wasm';
import { Client } from 'pg';
import { SealedCacheError } from '../../errors';
import { progressLine } from '../../progress-line';
import { redactText } from '../observability/redact';
import { openPostgresMetadataStore } from './postgres-metadata-store';

export interface MetadataMigrated {
  target: string;
  tables: number;
  rows: number;
  copied: number;
  alreadyThere: number;
  verified: number;
  /** Tables whose rows differ between the data dir and the database after the copy. */
  failed: string[];
}

interface TableShape {
  name: string;
  columns: string[];
  /** Every table this one's foreign keys point at. */
  parents: string[];
  /** The identity column, whose sequence must pass the copied ids. */
  identity?: string;
}

const KYSELY_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);
const PAGE = 500;
const MAX_PARAMETERS = 30_000;

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** One value as the checksum and the target see it: PostgreSQL answers 64-bit numbers as strings. */
const canonical = (value: unknown): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : String(value);

/** The same rows in any order give the same sum: each row's SHA-256 added modulo 2^256. */
class RowChecksum {
  private sum = 0n;
  count = 0;
  add(values: readonly unknown[]): void {
    const digest = createHash('sha256')
      .update(JSON.stringify(values.map(canonical)))
      .digest('hex');
    this.sum = (this.sum + BigInt(`0x${digest}`)) % (1n << 256n);
    this.count++;
  }
  get value(): string {
    return `${this.count}:${this.sum.toString(16)}`;
  }
}

async function targetShapes(client: Client): Promise<TableShape[]> {
  const columns = await client.query<{ table_name: string; column_name: string; is_identity: string }>(
    `SELECT table_name, column_name, is_identity FROM information_schema.columns
     WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const parents = await client.query<{ child: string; parent: string }>(
    `SELECT DISTINCT tc.table_name AS child, ccu.table_name AS parent
     FROM information_schema.table_constraints tc
     JOIN information_schema.constraint_column_usage ccu
       ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema
     WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()`,
  );
  const shapes = new Map<string, TableShape>();
  for (const row of columns.rows) {
    if (KYSELY_TABLES.has(row.table_name)) continue;
    const shape = shapes.get(row.table_name) ?? { name: row.table_name, columns: [], parents: [] };
    shape.columns.push(row.column_name);
    if (row.is_identity === 'YES') shape.identity = row.column_name;
    shapes.set(row.table_name, shape);
  }
  for (const row of parents.rows) if (row.child !== row.parent) shapes.get(row.child)?.parents.push(row.parent);
  return parentsFirst([...shapes.values()]);
}

function parentsFirst(shapes: TableShape[]): TableShape[] {
  const byName = new Map(shapes.map((s) => [s.name, s]));
  const ordered: TableShape[] = [];
  const placed = new Set<string>();
  const place = (shape: TableShape, path: Set<string>): void => {
    if (placed.has(shape.name) || path.has(shape.name)) return;
    path.add(shape.name);
    for (const parent of shape.parents) {
      const parentShape = byName.get(parent);
      if (parentShape) place(parentShape, path);
    }
    placed.add(shape.name);
    ordered.push(shape);
  };
  for (const shape of [...shapes].sort((a, b) => a.name.localeCompare(b.name))) place(shape, new Set());
  return ordered;
}

function* sourceRows(db: WasmDatabase, shape: TableShape): Generator<unknown[]> {
  const list = shape.columns.map(quote).join(', ');
  let after = -1;
  for (;;) {
    const rows = db.all(
      `SELECT rowid AS nxsc_rowid, ${list} FROM ${quote(shape.name)} WHERE rowid > ? ORDER BY rowid LIMIT ?`,
      [after, PAGE],
    ) as Array<Record<string, unknown>>;
    for (const row of rows) yield shape.columns.map((c) => row[c]);
    if (rows.length < PAGE) return;
    after = Number(rows[rows.length - 1]?.nxsc_rowid);
  }
}

function sourceChecksum(db: WasmDatabase, shape: TableShape): RowChecksum {
  const sum = new RowChecksum();
  for (const row of sourceRows(db, shape)) sum.add(row);
  return sum;
}

/** Pages through the target by ctid (never by a text column: PostgreSQL's collation is not SQLite's). */
async function targetChecksum(client: Client, shape: TableShape): Promise<RowChecksum> {
  const sum = new RowChecksum();
  const list = shape.columns.map(quote).join(', ');
  let after = '(0,0)';
  for (;;) {
    const page = await client.query({
      text: `SELECT ctid::text, ${list} FROM ${quote(shape.name)} WHERE ctid > $1::tid ORDER BY ctid LIMIT ${PAGE}`,
      values: [after],
      rowMode: 'array',
    });
    const rows = page.rows as unknown[][];
    for (const row of rows) sum.add(row.slice(1));
    if (rows.length < PAGE) return sum;
    after = String(rows[rows.length - 1]?.[0]);
  }
}

async function copyTable(client: Client, db: WasmDatabase, shape: TableShape, advance: () => void): Promise<void> {
  const perInsert = Math.max(1, Math.min(PAGE, Math.floor(MAX_PARAMETERS / shape.columns.length)));
  const head = `INSERT INTO ${quote(shape.name)} (${shape.columns.map(quote).join(', ')}) VALUES `;
  await client.query('BEGIN');
  try {
    let batch: unknown[][] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const width = shape.columns.length;
      const tuples = batch.map((_, r) => `(${shape.columns.map((__, c) => `$${r * width + c + 1}`).join(', ')})`);
      await client.query(head + tuples.join(', '), batch.flat().map(canonical));
      batch = [];
    };
    for (const row of sourceRows(db, shape)) {
      batch.push(row);
      advance();
      if (batch.length >= perInsert) await flush();
    }
    await flush();
    if (shape.identity !== undefined) {
      const column = quote(shape.identity);
      await client.query(
        `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX(${column}) FROM ${quote(shape.name)}), 0) + 1, false)`,
        [quote(shape.name), shape.identity],
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

function appliedMigrations(rows: Array<{ name: string }>): string {
  return rows
    .map((r) => r.name)
    .sort()
    .join(',');
}

/** Copies and verifies; `print` gets the progress lines. The data dir's server must be stopped (the caller locks). */
export async function migrateMetadata(
  db: WasmDatabase,
  databaseUrl: string,
  print: (line: string) => void,
): Promise<MetadataMigrated> {
  // Opening the store runs the migrations, so the target has this version's schema.
  await (await openPostgresMetadataStore(databaseUrl)).close();
  const client = new Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const source = appliedMigrations(db.all('SELECT name FROM kysely_migration') as Array<{ name: string }>);
    const target = appliedMigrations((await client.query<{ name: string }>('SELECT name FROM kysely_migration')).rows);
    if (source !== target)
      throw new SealedCacheError(
        'ERR_INPUT_INVALID',
        'the data directory was last served by another version: start this version on it once (it runs its migrations), stop it, then migrate',
      );
    const shapes = await targetShapes(client);
    const counts = shapes.map((shape) =>
      Number((db.get(`SELECT COUNT(*) AS n FROM ${quote(shape.name)}`) as { n: number }).n),
    );
    const result: MetadataMigrated = {
      target: redactText(databaseUrl),
      tables: shapes.length,
      rows: counts.reduce((a, b) => a + b, 0),
      copied: 0,
      alreadyThere: 0,
      verified: 0,
      failed: [],
    };
    const copying = progressLine(print, 'migrate metadata', { items: result.rows }, 'rows');
    /** Tables an earlier run had copied whole: the resume check already compared their checksums. */
    const matched = new Set<string>();
    for (const [i, shape] of shapes.entries()) {
      const there = Number(
        (await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${quote(shape.name)}`)).rows[0]?.n ?? 0,
      );
      if (there === 0) {
        await copyTable(client, db, shape, () => copying.advance(0));
        result.copied += counts[i] ?? 0;
        continue;
      }
      // Left by an earlier run: the same rows are skipped, other rows are another server's and refused.
      if ((await targetChecksum(client, shape)).value !== sourceChecksum(db, shape).value)
        throw new SealedCacheError(
          'ERR_MIGRATE_TARGET_NOT_EMPTY',
          `table ${shape.name} of ${result.target} holds rows the data directory does not have: migrate into an empty database`,
        );
      matched.add(shape.name);
      result.alreadyThere += counts[i] ?? 0;
      for (let n = 0; n < (counts[i] ?? 0); n++) copying.advance(0);
    }
    copying.done();
    const checking = progressLine(print, 'verify metadata', { items: shapes.length }, 'tables');
    for (const [i, shape] of shapes.entries()) {
      if (matched.has(shape.name) || (await targetChecksum(client, shape)).value === sourceChecksum(db, shape).value)
        result.verified += counts[i] ?? 0;
      else result.failed.push(shape.name);
      checking.advance(0);
    }
    checking.done();
    return result;
  } finally {
    await client.end();
  }
}
