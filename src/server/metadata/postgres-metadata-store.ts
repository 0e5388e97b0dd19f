/**
 * The shared metadata store: PostgreSQL through kysely's PostgresDialect and the `pg` driver, for
 * several server replicas behind one load balancer. Same queries and migrations as the embedded file.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import { Pool } from 'pg';
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

/** Connects, checks the server answers, and runs pending migrations (serialised across replicas by kysely's lock). */
export async function openPostgresMetadataStore(
  url: string,
  options: OpenPostgresOptions = {},
): Promise<MetadataStore> {
  const pool = new Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle connection the server dropped: pg drops it from the pool; the next query opens another.
  pool.on('error', () => undefined);
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
