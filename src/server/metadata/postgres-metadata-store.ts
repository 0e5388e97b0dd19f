/**
 * The shared metadata store: PostgreSQL through kysely's PostgresDialect and the `pg` driver, for
 * several server replicas behind one load balancer. Same queries and migrations as the embedded file.
 */
import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool, type PoolClient, type QueryConfig, type QueryResult } from 'pg';
import { SealedCacheError } from '../../errors';
import { redactText } from '../observability/redact';
import { openKyselyMetadataStore } from './kysely-metadata-store';
import type { MetadataStore } from './metadata-store';
import type { MetadataDatabase } from './schema';

export interface OpenPostgresOptions {
  /** Connections this process keeps at most (pg's default is 10). */
  poolSize?: number;
}

export const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** A statement that starts with this comment is prepared once per connection, its plan kept by the server. */
const PREPARED = /^\s*\/\* prepared:([a-z_]+) \*\//;
let connections = 0;

/**
 * The hot statements (cache-request-read.ts) as named prepared statements: planning their joins costs the
 * server more than running them. The name is unique to the connection (a random part and a number), because
 * PGlite's test server multiplexes every process's connections over one session, where names must not clash. Only statements with explicit
 * column lists are marked, so a replica's migration adding a column cannot change a prepared result type.
 */
function prepareMarkedStatements(client: PoolClient): void {
  // PostgreSQL plans a prepared statement anew for its first five runs, and after that whenever its generic plan
  // looks costlier than a custom one, which this join's estimates often make it: each plan costs more than a run.
  // Queued before anything else on the connection; it applies to named prepared statements only.
  void client.query('set plan_cache_mode = force_generic_plan').catch(() => undefined);
  const suffix = `${randomBytes(4).toString('hex')}_${(connections += 1)}`;
  const query = client.query.bind(client) as (config: QueryConfig) => Promise<QueryResult>;
  const plain = client.query.bind(client) as (text: unknown, values?: unknown) => Promise<QueryResult>;
  (client as unknown as { query: unknown }).query = (text: unknown, values?: unknown[]) => {
    const name = typeof text === 'string' ? PREPARED.exec(text)?.[1] : undefined;
    return name === undefined
      ? plain(text, values)
      : query({ name: `${name}_${suffix}`, text: text as string, values });
  };
}

/** Connects, checks the server answers, and runs pending migrations (serialised across replicas by kysely's lock). */
export async function openPostgresMetadataStore(
  url: string,
  options: OpenPostgresOptions = {},
): Promise<MetadataStore> {
  const pool = new Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle connection the server dropped: pg drops it from the pool; the next query opens another.
  pool.on('error', () => undefined);
  pool.on('connect', prepareMarkedStatements);
  const db = new Kysely<MetadataDatabase>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy();
    throw new SealedCacheError(
      'ERR_DATABASE_FAILED',
      `cannot connect to the metadata database ${redactText(url)}: ${redactText((err as Error).message)}`,
      { cause: err },
    );
  }
  return openKyselyMetadataStore(db, 'postgres');
}
