/**
 * A kysely dialect for node-sqlite3-wasm (synchronous WASM SQLite with real file I/O). kysely's own
 * SqliteDialect expects better-sqlite3's statement API, so this adapter supplies the driver and
 * reuses kysely's SQLite query compiler, adapter and introspector.
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Statement, Database as WasmDatabase } from 'node-sqlite3-wasm';
import { GenerationTracker, type WriteGenerations } from './lookup-cache';

type BindValue = number | bigint | string | Uint8Array | null | boolean;

function toBindValues(parameters: readonly unknown[]): BindValue[] {
  return parameters.map((value) => {
    if (value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    return value as BindValue;
  });
}

/** Queries that produce rows: SELECTs, anything with RETURNING, and raw SQL such as PRAGMA. */
function returnsRows(query: CompiledQuery): boolean {
  const node = query.query as { kind: string; returning?: unknown };
  return SelectQueryNode.is(query.query) || node.kind === 'RawNode' || node.returning !== undefined;
}

/** Another process (e.g. `admin init` beside a running server) holds SQLite's lock for a few milliseconds. */
const BUSY_RETRY_DELAY_MS = 10;
const BUSY_RETRY_LIMIT = 300;

function isBusy(err: unknown): boolean {
  return err instanceof Error && /database is locked|SQLITE_BUSY/i.test(err.message);
}

/**
 * Prepared statements kept by SQL text: the store's queries are a small fixed set, and preparing one costs
 * more than running it (a cache lookup prepared its three statements on every request).
 */
const STATEMENT_CACHE_SIZE = 256;

class WasmSqliteConnection implements DatabaseConnection {
  private readonly statements = new Map<string, Statement>();
  private readonly tracker: GenerationTracker | undefined;

  constructor(
    private readonly db: WasmDatabase,
    generations: WriteGenerations | undefined,
  ) {
    this.tracker = generations && new GenerationTracker(generations);
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    // A busy statement did not run, so running it again is safe; the connection mutex keeps order.
    for (let attempt = 0; ; attempt++) {
      try {
        return this.execute<R>(compiledQuery);
      } catch (err) {
        this.forget(compiledQuery.sql);
        if (!isBusy(err) || attempt >= BUSY_RETRY_LIMIT) throw err;
        await sleep(BUSY_RETRY_DELAY_MS);
      } finally {
        // Counted whether or not it succeeded: a failed write may still have changed something.
        this.tracker?.ran(compiledQuery.sql);
      }
    }
  }

  /** Every statement is run to its end (all rows, or the write done), so none holds a read lock between queries. */
  private execute<R>(compiledQuery: CompiledQuery): QueryResult<R> {
    const values = toBindValues(compiledQuery.parameters);
    const statement = this.statement(compiledQuery.sql);
    if (returnsRows(compiledQuery)) {
      return { rows: statement.all(values) as R[] };
    }
    const { changes, lastInsertRowid } = statement.run(values);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  }

  private statement(sql: string): Statement {
    const cached = this.statements.get(sql);
    if (cached !== undefined) {
      // Most recently used last, so the first key is the one to drop when full.
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    const prepared = this.db.prepare(sql);
    this.statements.set(sql, prepared);
    if (this.statements.size > STATEMENT_CACHE_SIZE) {
      const [oldest] = this.statements.keys();
      if (oldest !== undefined) this.forget(oldest);
    }
    return prepared;
  }

  private forget(sql: string): void {
    const statement = this.statements.get(sql);
    if (statement === undefined) return;
    this.statements.delete(sql);
    if (statement.isFinalized) return;
    try {
      statement.finalize();
    } catch {
      // sqlite3_finalize repeats the statement's last error, which its run already threw.
    }
  }

  finalizeAll(): void {
    for (const sql of [...this.statements.keys()]) this.forget(sql);
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported by the node-sqlite3-wasm driver');
  }
}

/** One connection for the whole process, handed out under a mutex like kysely's own SQLite driver. */
class WasmSqliteDriver implements Driver {
  private connection: WasmSqliteConnection | undefined;
  private queue: Promise<void> = Promise.resolve();
  private releaseCurrent: (() => void) | undefined;

  constructor(
    private readonly db: WasmDatabase,
    private readonly generations: WriteGenerations | undefined,
  ) {}

  async init(): Promise<void> {
    this.connection = new WasmSqliteConnection(this.db, this.generations);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.releaseCurrent = release;
    return this.connection as WasmSqliteConnection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const release = this.releaseCurrent;
    this.releaseCurrent = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    this.connection?.finalizeAll();
    if (this.db.isOpen) this.db.close();
  }
}

export class WasmSqliteDialect implements Dialect {
  /** `generations`, when given, counts every write this connection makes (see lookup-cache.ts). */
  constructor(
    private readonly db: WasmDatabase,
    private readonly generations?: WriteGenerations,
  ) {}

  createDriver(): Driver {
    return new WasmSqliteDriver(this.db, this.generations);
  }

  createQueryCompiler(): SqliteQueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): SqliteAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): SqliteIntrospector {
    return new SqliteIntrospector(db);
  }
}
