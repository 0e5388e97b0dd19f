/** The scaled-out setup's storage for a section: one PostgreSQL (bench-postgres.ts) and one S3-protocol store (s3rver). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';
import { type RunningS3, startS3 } from '../../tests/e2e/harness/s3-store';
import { type BenchPostgres, startBenchPostgres } from './bench-postgres';

export interface SharedStorage {
  postgres: BenchPostgres;
  s3: RunningS3;
  /** What the rows call this setup, engine included: `PostgreSQL 15.18 + s3rver`. */
  label: string;
  /** One sentence for a section's notes: which engines the PostgreSQL + S3 rows ran on. */
  description: string;
  stop(): Promise<void>;
}

function s3rverVersion(): string {
  const manifest = join(REPO_ROOT, 'node_modules', 's3rver', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** `dir`: the section's folder, which holds s3rver's objects (removed with it, even after Ctrl-C). */
export async function startSharedStorage(dir: string): Promise<SharedStorage> {
  const postgres = await startBenchPostgres();
  let s3: RunningS3;
  try {
    s3 = await startS3('nxsc-bench', dir);
  } catch (err) {
    await postgres.stop();
    throw err;
  }
  return {
    postgres,
    s3,
    label: `${postgres.short} + s3rver`,
    description:
      `PostgreSQL + S3 rows: metadata on ${postgres.engine}; blobs in s3rver ${s3rverVersion()} (S3's REST protocol ` +
      `over loopback HTTP with SigV4, objects on the local disk, inside the bench's own process), not a real S3 service.`,
    stop: async () => {
      try {
        await s3.stop();
      } finally {
        await postgres.stop();
      }
    },
  };
}
