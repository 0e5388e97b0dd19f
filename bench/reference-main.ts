/**
 * The harness's reference spec server (tests/e2e/harness/reference-server.ts) in a process of its own, so it is
 * measured the same way as `nx-sealed-cache serve`: `node -r bench/ts-register.js bench/reference-main.ts <data-dir>`.
 * With `--round-trip-to <postgres-url>`, every request first waits for one prepared `select 1` on that database
 * (a pool of 10, as `serve` has): the least a replica must do per request to refuse a revoked token at once.
 */
import { Pool } from 'pg';
import { startReferenceServer } from '../tests/e2e/harness/reference-server';

async function main(): Promise<void> {
  const [dataDir, flag, databaseUrl] = process.argv.slice(2);
  if (!dataDir || (flag !== undefined && (flag !== '--round-trip-to' || !databaseUrl)))
    throw new Error('usage: reference-main.ts <data-dir> [--round-trip-to <postgres-url>]');
  const pool = databaseUrl ? new Pool({ connectionString: databaseUrl, max: 10 }) : undefined;
  const roundTrip = pool
    ? async (): Promise<void> => {
        await pool.query({ name: 'floor', text: 'select 1' });
      }
    : undefined;
  const server = await startReferenceServer({ dataDir, maxBodyBytes: 4 * 1024 ** 3, beforeEachRequest: roundTrip });
  // Only the bench's own requests reach it; the request log would grow without bound under load.
  server.requests.length = 0;
  setInterval(() => {
    server.requests.length = 0;
  }, 1000).unref();
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  process.stdout.write(`reference server listening on ${server.url}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
