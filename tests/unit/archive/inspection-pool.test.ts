import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ARTIFACT_POLICY, inspectArtifactBuffer } from '../../../src/archive/artifact-inspection';
import { InspectionPool } from '../../../src/archive/inspection-pool';
import { isSealedCacheError } from '../../../src/errors';
import { END, gz, nxLikeTar, rawRecords, nxTail } from '../../hardening/support/nx-tar-forms';
import { BUILT_INSPECTION_WORKER, ownedCopy as owned } from './inspection-support';

const REAL = join(__dirname, 'payloads', 'nx24-symlink-longname.tar.gz');
let scripts: string;
beforeAll(() => (scripts = mkdtempSync(join(tmpdir(), 'nxsc-pool-'))));
afterAll(() => rmSync(scripts, { recursive: true, force: true }));
const script = (source: string): string => {
  const file = join(scripts, `worker-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(file, source);
  return file;
};

describe('the inspection pool (archive checks on worker threads)', () => {
  let pool: InspectionPool;
  beforeEach(() => (pool = new InspectionPool(2, BUILT_INSPECTION_WORKER())));
  afterEach(() => pool.close());

  it('moves a buffer that owns its memory to the worker and gives the same bytes back with the report', async () => {
    const real = readFileSync(REAL);
    const mine = owned(real);
    expect(pool.offThread).toBe(true);
    const { data, report } = await pool.inspect(mine, DEFAULT_ARTIFACT_POLICY);
    expect(report).toEqual({ exitCode: 0 });
    expect(data.equals(real)).toBe(true);
    // Transferred, not copied: the caller's view is detached and only the returned bytes are usable.
    expect(mine.length).toBe(0);
  });

  it("copies a slice of a larger buffer and leaves the caller's bytes as they were", async () => {
    const real = readFileSync(REAL);
    const larger = Buffer.concat([Buffer.from('before'), real, Buffer.from('after')]);
    const slice = larger.subarray(6, 6 + real.length);
    const { data } = await pool.inspect(slice, DEFAULT_ARTIFACT_POLICY);
    expect(data.equals(real)).toBe(true);
    expect(slice.equals(real)).toBe(true);
    expect(larger.length).toBe(real.length + 11);
  });

  it('rejects with the error the check gives on the calling thread: same code, same message', async () => {
    const throughLink = gz([
      ...rawRecords({ name: 'dist/l', type: '2', linkname: 'x' }),
      ...rawRecords({ name: 'dist/l/f', type: '0', content: 'y' }),
      ...nxTail(),
      END,
    ]);
    const inThread = await inspectArtifactBuffer(throughLink, DEFAULT_ARTIFACT_POLICY).then(
      () => null,
      (err: unknown) => err,
    );
    const offThread = await pool.inspect(owned(throughLink), DEFAULT_ARTIFACT_POLICY).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isSealedCacheError(offThread)).toBe(true);
    expect(offThread).toMatchObject({
      code: (inThread as { code: string }).code,
      message: (inThread as Error).message,
    });
    expect((offThread as { code: string }).code).toBe('ERR_ARCHIVE_UNSAFE_ENTRY');
  });

  it('answers many checks at once, each with its own bytes', async () => {
    const artifacts = Array.from({ length: 24 }, (_, i) => gz([...nxLikeTar(`p${i}`), END]));
    const results = await Promise.all(artifacts.map((a) => pool.inspect(owned(a), DEFAULT_ARTIFACT_POLICY)));
    results.forEach(({ data, report }, i) => {
      expect(report).toEqual({ exitCode: 0 });
      expect(data.equals(artifacts[i]!)).toBe(true);
    });
  });

  it('rejects checks in flight when its threads stop, and checks on the calling thread once closed', async () => {
    // A worker that never answers: the check is still in flight when the pool closes.
    const silent = new InspectionPool(1, script("require('node:worker_threads').parentPort.on('message', () => {});"));
    const real = readFileSync(REAL);
    const inFlight = silent.inspect(owned(real), DEFAULT_ARTIFACT_POLICY);
    const rejected = expect(inFlight).rejects.toThrow('the archive check stopped: closed');
    await silent.close();
    await rejected;
    expect(silent.offThread).toBe(false);
    await expect(silent.inspect(real, DEFAULT_ARTIFACT_POLICY)).resolves.toMatchObject({ report: { exitCode: 0 } });
  });

  it('starts a new thread for each check whose thread died, and checks in-thread after three deaths in a row', async () => {
    // Each thread answers nothing and exits on its first message.
    const dying = new InspectionPool(
      1,
      script("require('node:worker_threads').parentPort.on('message', () => process.exit(3));"),
    );
    try {
      const real = readFileSync(REAL);
      for (let i = 0; i < 3; i++) {
        expect(dying.offThread).toBe(true);
        await expect(dying.inspect(owned(real), DEFAULT_ARTIFACT_POLICY)).rejects.toThrow(
          'the archive check stopped: its thread exited (code 3)',
        );
      }
      expect(dying.offThread).toBe(false);
      await expect(dying.inspect(real, DEFAULT_ARTIFACT_POLICY)).resolves.toMatchObject({ report: { exitCode: 0 } });
    } finally {
      await dying.close();
    }
  });

  it("drops a waiting check and stops a running one when the caller's signal aborts", async () => {
    // Answers every check with its thread's id, except those with maxEntries 1, which it never answers.
    const probe = new InspectionPool(
      1,
      script(`const { parentPort, threadId } = require('node:worker_threads');
parentPort.on('message', (job) => {
  if (job.policy.maxEntries === 1) return;
  parentPort.postMessage({ id: job.id, error: { name: 'Error', message: 'thread ' + threadId } });
});`),
    );
    const hang = { ...DEFAULT_ARTIFACT_POLICY, maxEntries: 1 };
    const bytes = () => owned(readFileSync(REAL));
    const threadOf = (check: Promise<unknown>) =>
      check.then(
        () => 'resolved',
        (err: Error) => err.message,
      );
    try {
      const first = await threadOf(probe.inspect(bytes(), DEFAULT_ARTIFACT_POLICY));
      expect(first).toMatch(/^thread \d+$/);
      const running = new AbortController();
      const waiting = new AbortController();
      const stuck = probe.inspect(bytes(), hang, running.signal);
      const queued = probe.inspect(bytes(), DEFAULT_ARTIFACT_POLICY, waiting.signal);
      const after = probe.inspect(bytes(), DEFAULT_ARTIFACT_POLICY);
      waiting.abort(new Error('gave up waiting'));
      await expect(queued).rejects.toThrow('gave up waiting');
      running.abort(new Error('gave up'));
      await expect(stuck).rejects.toThrow('gave up');
      // The stuck thread was stopped; the next check ran on a new one.
      const next = await threadOf(after);
      expect(next).toMatch(/^thread \d+$/);
      expect(next).not.toBe(first);
      // An aborted signal is refused before anything moves.
      const mine = bytes();
      await expect(probe.inspect(mine, DEFAULT_ARTIFACT_POLICY, AbortSignal.abort(new Error('late')))).rejects.toThrow(
        'late',
      );
      expect(mine.length).toBeGreaterThan(0);
    } finally {
      await probe.close();
    }
  });

  it('checks on the calling thread when asked for no threads or when the worker script is not built', async () => {
    const real = readFileSync(REAL);
    for (const inThread of [
      new InspectionPool(0, BUILT_INSPECTION_WORKER()),
      new InspectionPool(2, '/nonexistent.js'),
    ]) {
      expect(inThread.offThread).toBe(false);
      const { data } = await inThread.inspect(real, DEFAULT_ARTIFACT_POLICY);
      // Not moved anywhere: the very same buffer.
      expect(data).toBe(real);
    }
  });
});
