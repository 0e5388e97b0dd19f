/**
 * The harness's reference spec server (tests/e2e/harness/reference-server.ts) in a process of its own, so it is
 * measured the same way as `nx-sealed-cache serve`: `node -r bench/ts-register.js bench/reference-main.ts <data-dir>`.
 */
import { startReferenceServer } from '../tests/e2e/harness/reference-server';

async function main(): Promise<void> {
  const dataDir = process.argv[2];
  if (!dataDir) throw new Error('usage: reference-main.ts <data-dir>');
  const server = await startReferenceServer({ dataDir, maxBodyBytes: 4 * 1024 ** 3 });
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
