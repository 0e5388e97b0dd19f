/**
 * Nx 24 through the real server whose blobs live in an S3 bucket (s3rver on loopback, reached through the
 * AWS SDK's default credential chain, as in production): every task stored, then restored byte for byte.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type RunningS3,
  type TestBed,
  assertSucceeded,
  cacheEntryStatuses,
  selfHostedCacheEnv,
  startS3,
  startTestBed,
} from './harness';

describe('Nx 24 against nx-sealed-cache serve --blob-store s3://...', () => {
  let s3: RunningS3 | undefined;
  let bed: TestBed | undefined;

  beforeAll(async () => {
    s3 = await startS3('nxsc-e2e');
    bed = await startTestBed('nx24', {
      server: { args: s3.serveArgs('team-cache'), env: s3.env },
      workspace: () => ({ linkPackage: false }),
    });
  });
  afterAll(async () => {
    await bed?.dispose();
    await s3?.stop();
  });

  const objectPuts = (): string[] =>
    (s3?.requests ?? []).filter((r) => /^PUT \/nxsc-e2e\/team-cache\/ws_/.test(r) && !r.includes('ready-probe'));

  it('stores every task in the bucket, then restores all of them from it after nx reset, byte for byte', async () => {
    if (bed === undefined) throw new Error('no test bed');
    const { ws, server, writeToken, readToken } = bed;
    const allProjects = (outcome: string): Record<string, string> =>
      Object.fromEntries(ws.projects.map((p) => [p, outcome]));

    const first = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, writeToken.token)));
    expect(first.outcomes).toEqual(allProjects('miss'));
    const hashes = ws.localCacheHashes();
    const outputs = ws.readOutputs();
    expect(hashes).toHaveLength(ws.projects.length);
    expect(Object.values(await cacheEntryStatuses(server.url, hashes, readToken.token))).toEqual(hashes.map(() => 200));
    // One object per task, written through the S3 protocol under the configured prefix.
    expect(objectPuts()).toHaveLength(ws.projects.length);

    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const second = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, readToken.token)));
    expect(second.outcomes).toEqual(allProjects('remote'));
    expect(ws.readOutputs()).toEqual(outputs);
  });
});
