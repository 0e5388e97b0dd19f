import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extractArchive, inspectArchive } from '../../../src/archive/extract';
import {
  expectErrorCode,
  fromBuffer,
  listTree,
  makeTempDir,
  rawTarGz,
  removeTempDirs,
  type RawEntry,
} from './archive-helpers';

afterEach(removeTempDirs);

/** A sandbox holding an empty `dest`; anything else appearing in the sandbox escaped. */
function sandbox(): { root: string; dest: string } {
  const root = makeTempDir('extract');
  const dest = path.join(root, 'dest');
  fs.mkdirSync(dest);
  return { root, dest };
}

/** Every refusal is checked twice: by the extraction, and by the in-memory inspection (the proxy's check), alike. */
async function expectRefused(
  entries: RawEntry[],
  code: 'ERR_ARCHIVE_UNSAFE_ENTRY' | 'ERR_ARCHIVE_TOO_LARGE' = 'ERR_ARCHIVE_UNSAFE_ENTRY',
): Promise<string> {
  const { root, dest } = sandbox();
  const archive = await rawTarGz(entries);
  const error = await expectErrorCode(extractArchive(fromBuffer(archive), dest), code);
  expect(fs.readdirSync(root)).toEqual(['dest']);
  await expectErrorCode(inspectArchive(fromBuffer(archive)), code);
  return error.message;
}

const file = (name: string, content = 'x', mode?: number): RawEntry => ({
  header: { name, type: 'file', mode },
  content,
});
const dir = (name: string): RawEntry => ({ header: { name, type: 'directory' } });
const symlink = (name: string, linkname: string): RawEntry => ({ header: { name, type: 'symlink', linkname } });
const hardlink = (name: string, linkname: string): RawEntry => ({ header: { name, type: 'link', linkname } });

describe('extractArchive: what it accepts', () => {
  it('extracts files, folders, in-archive symlinks and hard links, counting files and bytes', async () => {
    const { dest } = sandbox();
    const big = randomBytes(600 * 1024);
    const archive = await rawTarGz([
      dir('a'),
      file('a/one.txt', 'one'),
      { header: { name: 'a/b/big.bin', type: 'file' }, content: big },
      file('./dot/prefixed.txt', 'dot'),
      symlink('a/b/up', '../one.txt'),
      symlink('top', 'a/b'),
      hardlink('a/same.txt', 'a/one.txt'),
      file('empty', ''),
    ]);
    expect(await extractArchive(fromBuffer(archive), dest)).toEqual({ files: 5, bytes: 3 + big.length + 3 });
    // The in-memory inspection accepts the same archive with the same counts, writing nothing.
    const before = listTree(path.dirname(dest));
    expect(await inspectArchive(fromBuffer(archive))).toEqual({ files: 5, bytes: 3 + big.length + 3 });
    expect(listTree(path.dirname(dest))).toEqual(before);
    expect(fs.readFileSync(path.join(dest, 'a/b/big.bin')).equals(big)).toBe(true);
    expect(fs.readFileSync(path.join(dest, 'a/b/up'), 'utf8')).toBe('one');
    expect(fs.readFileSync(path.join(dest, 'top/big.bin')).length).toBe(big.length);
    expect(fs.readFileSync(path.join(dest, 'a/same.txt'), 'utf8')).toBe('one');
    expect(fs.readFileSync(path.join(dest, 'dot/prefixed.txt'), 'utf8')).toBe('dot');
    expect(fs.statSync(path.join(dest, 'empty')).size).toBe(0);
  });

  it('reads old-style (v7) headers without the ustar magic, as Nx 24 writes terminalOutput and code', async () => {
    const { dest } = sandbox();
    const plainTar = gunzipSync(await rawTarGz([file('code', '\0\0\0\0')]));
    plainTar.fill(0, 257, 265); // the ustar magic and version
    plainTar.fill(0x20, 148, 156); // the checksum field counts as spaces while summing
    const checksum = plainTar.subarray(0, 512).reduce((sum, byte) => sum + byte, 0);
    plainTar.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(await extractArchive(fromBuffer(gzipSync(plainTar)), dest)).toEqual({ files: 1, bytes: 4 });
    expect(await inspectArchive(fromBuffer(gzipSync(plainTar)))).toEqual({ files: 1, bytes: 4 });
    expect(fs.readFileSync(path.join(dest, 'code'))).toEqual(Buffer.alloc(4));
  });

  it('masks modes: executables become 0755, everything else 0644, setuid never survives', async () => {
    const { dest } = sandbox();
    const archive = await rawTarGz([file('suid', 'x', 0o4777), file('plain', 'x', 0o666), file('exec', 'x', 0o700)]);
    await extractArchive(fromBuffer(archive), dest);
    const mode = (name: string): number => fs.statSync(path.join(dest, name)).mode & 0o7777;
    expect(mode('suid')).toBe(0o755);
    expect(mode('plain')).toBe(0o644);
    expect(mode('exec')).toBe(0o755);
  });

  it('refuses a destination that is not an empty folder', async () => {
    const { dest } = sandbox();
    fs.writeFileSync(path.join(dest, 'already'), 'here');
    await expectErrorCode(extractArchive(fromBuffer(await rawTarGz([file('a')])), dest), 'ERR_INPUT_INVALID');
    await expectErrorCode(
      extractArchive(fromBuffer(await rawTarGz([file('a')])), path.join(dest, 'missing')),
      'ERR_INPUT_INVALID',
    );
  });
});

describe('extractArchive: path traversal', () => {
  it.each([
    ['a parent segment', '../x'],
    ['a climb hidden in the middle', 'a/../../x'],
    ['a climb that stays inside lexically', 'a/../x'],
    ['an absolute path', '/tmp/nx-sealed-cache-absolute-escape'],
    ['a drive letter', 'C:/x'],
    ['backslashes', '..\\x'],
  ])('refuses %s (%s)', async (_label, name) => {
    const message = await expectRefused([file('ok.txt'), file(name, 'escaped')]);
    expect(message).toContain('refused');
    expect(fs.existsSync('/tmp/nx-sealed-cache-absolute-escape')).toBe(false);
  });

  it('refuses a NUL byte in a (pax) path', async () => {
    await expectRefused([{ header: { name: 'a', type: 'file', pax: { path: 'a\0/../../x' } }, content: 'x' }]);
  });

  it('refuses a long (pax) path that climbs out', async () => {
    await expectRefused([file(`${'a/'.repeat(80)}${'../'.repeat(82)}x`)]);
  });
});

describe('extractArchive: links', () => {
  it.each([
    ['a target above the folder', 'l', '../outside'],
    ['a nested target above the folder', 'a/l', '../../x'],
    ['an absolute target', 'l', '/etc'],
    ['a ".." after a name (could climb through another link)', 'l', 'a/../..'],
    ['a ".." after a name that looks harmless lexically', 'l', 'x/../y'],
    ['an empty target', 'l', ''],
  ])('refuses a symlink with %s', async (_label, name, target) => {
    expect(await expectRefused([dir('a'), symlink(name, target)])).toMatch(/refused: symlink/);
  });

  it('refuses a path that goes through a symlink the archive made', async () => {
    expect(await expectRefused([dir('sub'), symlink('l', 'sub'), file('l/x', 'through')])).toContain(
      'through a symlink',
    );
    expect(await expectRefused([symlink('l', '.'), file('l/l/x')])).toContain('through a symlink');
  });

  it('refuses writing a file over a symlink the archive made', async () => {
    await expectRefused([file('target'), symlink('l', 'target'), file('l', 'overwrite')]);
  });

  it('refuses a folder entry where a symlink is', async () => {
    await expectRefused([dir('sub'), symlink('l', 'sub'), dir('l')]);
  });

  it.each([
    ['above the folder', '../outside'],
    ['absolute', '/etc/passwd'],
    ['missing', 'nothing-here'],
  ])('refuses a hard link whose target is %s', async (_label, target) => {
    await expectRefused([file('a'), hardlink('h', target)]);
  });

  it('refuses a hard link to a symlink or through one', async () => {
    await expectRefused([dir('sub'), file('sub/f'), symlink('l', 'sub'), hardlink('h', 'l')]);
    await expectRefused([dir('sub'), file('sub/f'), symlink('l', 'sub'), hardlink('h', 'l/f')]);
  });
});

describe('extractArchive: entry types and duplicates', () => {
  it.each(['character-device', 'block-device', 'fifo'] as const)('refuses a %s entry', async (type) => {
    const message = await expectRefused([{ header: { name: 'dev', type, devmajor: 1, devminor: 3 } }]);
    expect(message).toContain('not allowed');
  });

  it('refuses a duplicate file', async () => {
    await expectRefused([file('a', 'first'), file('a', 'second')]);
  });

  it('refuses a file where a folder is needed', async () => {
    await expectRefused([file('a'), file('a/b')]);
  });
});

describe('extractArchive: limits and corruption', () => {
  it('stops a gzip bomb at maxBytes without writing more than the cap', async () => {
    const { root, dest } = sandbox();
    const bombSize = 64 * 1024 * 1024;
    const bomb = await rawTarGz([{ header: { name: 'zeros', type: 'file' }, content: Buffer.alloc(bombSize) }], 9);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const cap = 1024 * 1024;
    const error = await expectErrorCode(
      extractArchive(fromBuffer(bomb), dest, { maxBytes: cap }),
      'ERR_ARCHIVE_TOO_LARGE',
    );
    expect(error.message).toContain(String(cap));
    const written = listTree(dest).reduce((sum, name) => sum + fs.lstatSync(path.join(dest, name)).size, 0);
    expect(written).toBeLessThanOrEqual(cap);
    expect(fs.readdirSync(root)).toEqual(['dest']);
  });

  it('stops at maxBytes across many files, counted on the expanded stream', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => file(`f${i}`, 'y'.repeat(10_000)));
    const { dest } = sandbox();
    await expectErrorCode(
      extractArchive(fromBuffer(await rawTarGz(entries)), dest, { maxBytes: 100_000 }),
      'ERR_ARCHIVE_TOO_LARGE',
    );
    expect(listTree(dest).length).toBeLessThan(50);
  });

  it('stops at maxEntries', async () => {
    const entries = Array.from({ length: 1000 }, (_, i) => file(`f${i}`, ''));
    const { dest } = sandbox();
    const error = await expectErrorCode(
      extractArchive(fromBuffer(await rawTarGz(entries)), dest, { maxEntries: 100 }),
      'ERR_ARCHIVE_TOO_LARGE',
    );
    expect(error.message).toContain('100 entries');
    expect(listTree(dest).length).toBeLessThanOrEqual(100);
  });

  it('reports random bytes, a truncated gzip and gzip of garbage as ERR_ARCHIVE_CORRUPT', async () => {
    const valid = await rawTarGz([file('a', 'x'.repeat(10_000)), file('b', randomBytes(5000).toString('hex'))]);
    const { gzipSync } = await import('node:zlib');
    for (const corrupt of [randomBytes(4096), valid.subarray(0, valid.length - 20), gzipSync(randomBytes(2048))]) {
      const { dest } = sandbox();
      await expectErrorCode(extractArchive(fromBuffer(corrupt), dest), 'ERR_ARCHIVE_CORRUPT');
    }
  });

  it('passes a source error through unchanged', async () => {
    const { dest } = sandbox();
    const failure = new Error('network went away');
    const source = new Readable({
      read() {
        this.destroy(failure);
      },
    });
    await expect(extractArchive(source, dest)).rejects.toBe(failure);
  });
});
