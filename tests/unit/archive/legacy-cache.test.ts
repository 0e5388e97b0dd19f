import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { packLegacyCacheEntry, restoreLegacyCacheEntry } from '../../../src/archive/legacy-cache';
import { spoolToFile } from '../../../src/archive/spool';
import { generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';
import { createOpenStream, createSealStream, sealedLength } from '../../../src/crypto/seal';
import {
  collect,
  expectErrorCode,
  fromBuffer,
  listTree,
  makeTempDir,
  rawTarGz,
  removeTempDirs,
} from './archive-helpers';

/** Lets one test observe every writeFileSync the restore makes (fs's own properties cannot be spied on). */
const mockWriteFileSyncHook: { before?: (file: unknown) => void } = {};
jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return {
    ...actual,
    writeFileSync: (...args: Parameters<typeof actual.writeFileSync>) => {
      mockWriteFileSyncHook.before?.(args[0]);
      return actual.writeFileSync(...args);
    },
  };
});

afterEach(() => {
  delete mockWriteFileSyncHook.before;
  removeTempDirs();
});

const HASH = '9f86d081884c7d659a2feaa0c55ad015';
const BIG = randomBytes(2 * 1024 * 1024);

/** A cache folder as Nx's own `put` leaves it (nx/src/tasks-runner/cache.js). */
function nxCacheWithEntry(hash = HASH): string {
  const cacheDirectory = makeTempDir('nx-cache');
  const entry = path.join(cacheDirectory, hash);
  fs.mkdirSync(path.join(entry, 'outputs/dist/apps/web'), { recursive: true });
  fs.writeFileSync(path.join(entry, 'terminalOutput'), '> nx run web:build\nbuilt\n');
  fs.writeFileSync(path.join(entry, 'outputs/dist/apps/web/main.js'), 'export {}');
  fs.writeFileSync(path.join(entry, 'outputs/dist/apps/web/bundle.bin'), BIG);
  fs.writeFileSync(path.join(entry, 'code'), '0');
  fs.writeFileSync(path.join(entry, 'source'), 'machine-id-of-the-writer');
  fs.writeFileSync(`${entry}.commit`, 'true');
  return cacheDirectory;
}

async function packedEntry(cacheDirectory: string, hash = HASH): Promise<Buffer> {
  const packed = await packLegacyCacheEntry(cacheDirectory, hash);
  if (packed === null) throw new Error('expected a packed entry');
  return collect(packed.stream);
}

function expectNothingRestored(cacheDirectory: string, hash = HASH): void {
  expect(fs.readdirSync(cacheDirectory)).toEqual([]);
  expect(fs.existsSync(path.join(cacheDirectory, hash))).toBe(false);
}

describe('legacy cache entries', () => {
  it('round-trips terminalOutput, code and outputs, never source, and writes <hash>.commit last', async () => {
    const archive = await packedEntry(nxCacheWithEntry());
    const restored = makeTempDir('nx-cache-restored');
    const entry = path.join(restored, HASH);
    const seenAtCommit: string[][] = [];
    mockWriteFileSyncHook.before = (file) => {
      if (file === `${entry}.commit`) seenAtCommit.push(listTree(restored));
    };

    expect(await restoreLegacyCacheEntry(fromBuffer(archive), restored, HASH)).toBe(true);

    const expected = [
      HASH,
      `${HASH}/code`,
      `${HASH}/outputs`,
      `${HASH}/outputs/dist`,
      `${HASH}/outputs/dist/apps`,
      `${HASH}/outputs/dist/apps/web`,
      `${HASH}/outputs/dist/apps/web/bundle.bin`,
      `${HASH}/outputs/dist/apps/web/main.js`,
      `${HASH}/terminalOutput`,
    ];
    expect(seenAtCommit).toEqual([expected]);
    expect(listTree(restored)).toEqual([...expected.slice(0, 1), `${HASH}.commit`, ...expected.slice(1)]);
    expect(fs.readFileSync(`${entry}.commit`, 'utf8')).toBe('true');
    expect(fs.readFileSync(path.join(entry, 'code'), 'utf8')).toBe('0');
    expect(fs.readFileSync(path.join(entry, 'terminalOutput'), 'utf8')).toBe('> nx run web:build\nbuilt\n');
    expect(fs.readFileSync(path.join(entry, 'outputs/dist/apps/web/bundle.bin')).equals(BIG)).toBe(true);
  });

  it('packs nothing for an entry Nx has not committed', async () => {
    const cacheDirectory = nxCacheWithEntry();
    fs.rmSync(path.join(cacheDirectory, `${HASH}.commit`));
    expect(await packLegacyCacheEntry(cacheDirectory, HASH)).toBeNull();
    expect(await packLegacyCacheEntry(cacheDirectory, 'abc123')).toBeNull();
  });

  it('refuses a hash that is not a plain identifier', async () => {
    const cacheDirectory = nxCacheWithEntry();
    await expectErrorCode(packLegacyCacheEntry(cacheDirectory, '../x'), 'ERR_CACHE_HASH_INVALID');
    await expectErrorCode(
      restoreLegacyCacheEntry(fromBuffer(Buffer.alloc(0)), cacheDirectory, '../x'),
      'ERR_CACHE_HASH_INVALID',
    );
  });

  it('restores an archive with a source file as nothing at all', async () => {
    const restored = makeTempDir('nx-cache-restored');
    const hostile = await rawTarGz([
      { header: { name: 'terminalOutput', type: 'file' }, content: 'ok' },
      { header: { name: 'source', type: 'file' }, content: 'foreign-machine' },
    ]);
    const error = await expectErrorCode(
      restoreLegacyCacheEntry(fromBuffer(hostile), restored, HASH),
      'ERR_ARCHIVE_UNSAFE_ENTRY',
    );
    expect(error.message).toContain('source');
    expectNothingRestored(restored);
  });

  it.each([
    ['terminalOutput missing', [{ header: { name: 'outputs', type: 'directory' as const } }]],
    [
      'code that is not an exit code',
      [
        { header: { name: 'terminalOutput', type: 'file' as const }, content: 'ok' },
        { header: { name: 'code', type: 'file' as const }, content: 'rm -rf /' },
      ],
    ],
    [
      'outputs that is a file',
      [
        { header: { name: 'terminalOutput', type: 'file' as const }, content: 'ok' },
        { header: { name: 'outputs', type: 'file' as const }, content: 'x' },
      ],
    ],
    [
      'terminalOutput that is a symlink',
      [
        { header: { name: 'code', type: 'file' as const }, content: '0' },
        { header: { name: 'terminalOutput', type: 'symlink' as const, linkname: 'code' } },
      ],
    ],
  ])('refuses an archive with %s and leaves no trace', async (_label, entries) => {
    const restored = makeTempDir('nx-cache-restored');
    await expectErrorCode(
      restoreLegacyCacheEntry(fromBuffer(await rawTarGz(entries)), restored, HASH),
      'ERR_ARCHIVE_UNSAFE_ENTRY',
    );
    expectNothingRestored(restored);
  });

  it('leaves no trace when the stream is corrupt or breaks off', async () => {
    const archive = await packedEntry(nxCacheWithEntry());
    const restored = makeTempDir('nx-cache-restored');
    await expectErrorCode(
      restoreLegacyCacheEntry(fromBuffer(archive.subarray(0, archive.length / 2)), restored, HASH),
      'ERR_ARCHIVE_CORRUPT',
    );
    expectNothingRestored(restored);
    const broken = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(restoreLegacyCacheEntry(broken, restored, HASH)).rejects.toThrow('connection reset');
    expectNothingRestored(restored);
  });

  it('creates an empty outputs folder when the archive has none, as Nx always has one', async () => {
    const restored = makeTempDir('nx-cache-restored');
    const minimal = await rawTarGz([{ header: { name: 'terminalOutput', type: 'file' }, content: 'ok' }]);
    expect(await restoreLegacyCacheEntry(fromBuffer(minimal), restored, HASH)).toBe(true);
    expect(fs.statSync(path.join(restored, HASH, 'outputs')).isDirectory()).toBe(true);
  });

  it('replaces an uncommitted leftover folder, but never a committed entry', async () => {
    const archive = await packedEntry(nxCacheWithEntry());
    const restored = makeTempDir('nx-cache-restored');
    fs.mkdirSync(path.join(restored, HASH, 'outputs/stale'), { recursive: true });
    expect(await restoreLegacyCacheEntry(fromBuffer(archive), restored, HASH)).toBe(true);
    expect(fs.existsSync(path.join(restored, HASH, 'outputs/stale'))).toBe(false);

    fs.writeFileSync(path.join(restored, HASH, 'terminalOutput'), 'local entry');
    expect(await restoreLegacyCacheEntry(fromBuffer(archive), restored, HASH)).toBe(false);
    expect(fs.readFileSync(path.join(restored, HASH, 'terminalOutput'), 'utf8')).toBe('local entry');
    expect(fs.readdirSync(restored).sort()).toEqual([HASH, `${HASH}.commit`]);
  });

  it('round-trips through sealing, spooled to a file of known length', async () => {
    const [key] = parseEncryptionKeys(generateEncryptionKey());
    const packed = await packLegacyCacheEntry(nxCacheWithEntry(), HASH);
    const spool = path.join(makeTempDir('spool'), 'artifact.tgz');
    const plainLength = await spoolToFile(packed!.stream, spool);
    expect(plainLength).toBe(fs.statSync(spool).size);

    const sealed = await collect(fs.createReadStream(spool).pipe(createSealStream(key!, HASH)));
    expect(sealed.length).toBe(sealedLength(plainLength));
    expect(sealed.includes(Buffer.from('nx run web:build'))).toBe(false);

    const restored = makeTempDir('nx-cache-restored');
    const opened = fromBuffer(sealed).pipe(createOpenStream([key!], HASH));
    expect(await restoreLegacyCacheEntry(opened, restored, HASH)).toBe(true);
    expect(fs.readFileSync(path.join(restored, HASH, 'outputs/dist/apps/web/bundle.bin')).equals(BIG)).toBe(true);
  });

  it('restores nothing from a tampered sealed artifact and reports ERR_SEAL_OPEN_FAILED', async () => {
    const [key] = parseEncryptionKeys(generateEncryptionKey());
    const sealed = await collect(
      (await packLegacyCacheEntry(nxCacheWithEntry(), HASH))!.stream.pipe(createSealStream(key!, HASH)),
    );
    sealed[sealed.length - 100]! ^= 1;
    const restored = makeTempDir('nx-cache-restored');
    const opened = fromBuffer(sealed).pipe(createOpenStream([key!], HASH));
    await expectErrorCode(restoreLegacyCacheEntry(opened, restored, HASH), 'ERR_SEAL_OPEN_FAILED');
    expectNothingRestored(restored);
  });
});
