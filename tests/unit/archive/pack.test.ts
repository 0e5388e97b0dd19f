import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { extractArchive } from '../../../src/archive/extract';
import { packDirectory, type SkippedEntry } from '../../../src/archive/pack';
import { collect, expectErrorCode, fromBuffer, listTree, makeTempDir, removeTempDirs } from './archive-helpers';

afterEach(removeTempDirs);

function workspace(): string {
  const root = makeTempDir('pack');
  fs.mkdirSync(path.join(root, 'dist/app/assets'), { recursive: true });
  fs.writeFileSync(path.join(root, 'dist/app/main.js'), 'console.log(1)');
  fs.writeFileSync(path.join(root, 'dist/app/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'dist/app/assets/big.bin'), randomBytes(3 * 1024 * 1024 + 17));
  fs.writeFileSync(path.join(root, 'secret.env'), 'not packed');
  return root;
}

async function packAndExtract(root: string, entries: string[], skipped: SkippedEntry[] = []): Promise<string> {
  const archive = await collect(packDirectory(root, entries, { onSkip: (entry) => skipped.push(entry) }));
  const dest = makeTempDir('unpacked');
  await extractArchive(fromBuffer(archive), dest);
  return dest;
}

describe('packDirectory', () => {
  it('packs exactly the listed paths, recursively, and they extract byte-identical', async () => {
    const root = workspace();
    const dest = await packAndExtract(root, ['dist']);
    expect(listTree(dest)).toEqual([
      'dist',
      'dist/app',
      'dist/app/assets',
      'dist/app/assets/big.bin',
      'dist/app/main.js',
      'dist/app/run.sh',
    ]);
    for (const file of ['dist/app/main.js', 'dist/app/assets/big.bin']) {
      expect(fs.readFileSync(path.join(dest, file)).equals(fs.readFileSync(path.join(root, file)))).toBe(true);
    }
    expect(fs.statSync(path.join(dest, 'dist/app/run.sh')).mode & 0o777).toBe(0o755);
    expect(fs.statSync(path.join(dest, 'dist/app/main.js')).mode & 0o777).toBe(0o644);
  });

  it('keeps symlinks inside the root as relative links and skips, with a reason, those that leave it', async () => {
    const root = workspace();
    fs.symlinkSync(path.join(root, 'dist/app/main.js'), path.join(root, 'dist/app/absolute-inside'));
    fs.symlinkSync('main.js', path.join(root, 'dist/app/relative-inside'));
    fs.symlinkSync('../../../secret.env', path.join(root, 'dist/app/assets/outside-root'));
    const outside = makeTempDir('outside');
    fs.symlinkSync(outside, path.join(root, 'dist/app/absolute-outside'));
    const skipped: SkippedEntry[] = [];
    const dest = await packAndExtract(root, ['dist/app'], skipped);
    expect(fs.readlinkSync(path.join(dest, 'dist/app/absolute-inside'))).toBe('main.js');
    expect(fs.readFileSync(path.join(dest, 'dist/app/relative-inside'), 'utf8')).toBe('console.log(1)');
    expect(skipped.map((entry) => entry.path).sort()).toEqual(['dist/app/absolute-outside']);
    expect(skipped[0]!.reason).toMatch(/outside/);
    // A link to a file in the root but outside the listed paths is still inside the root: kept.
    expect(fs.readlinkSync(path.join(dest, 'dist/app/assets/outside-root'))).toBe('../../../secret.env');
  });

  it('reports missing paths and skips duplicates', async () => {
    const root = workspace();
    const skipped: SkippedEntry[] = [];
    const dest = await packAndExtract(
      root,
      ['dist/app/main.js', 'nope', 'dist/app/main.js', './dist/app/main.js'],
      skipped,
    );
    expect(listTree(dest)).toEqual(['dist', 'dist/app', 'dist/app/main.js']);
    expect(skipped).toEqual([{ path: 'nope', reason: 'not found' }]);
  });

  it('uses gzip level 1 by default and honours another level', async () => {
    const root = makeTempDir('pack');
    fs.writeFileSync(path.join(root, 'text'), 'abcdefghij'.repeat(100_000));
    const fast = await collect(packDirectory(root, ['text']));
    const best = await collect(packDirectory(root, ['text'], { gzipLevel: 9 }));
    expect(gunzipSync(fast).equals(gunzipSync(best))).toBe(true);
    expect(fast[8]).toBe(4); // gzip XFL byte: 4 = fastest, 2 = best compression
    expect(best[8]).toBe(2);
    expect(() => packDirectory(root, ['text'], { gzipLevel: 12 })).toThrow(/gzip/i);
  });

  it('refuses entries that climb out of the root', async () => {
    const root = workspace();
    await expectErrorCode(collect(packDirectory(root, ['../etc'])), 'ERR_ARCHIVE_UNSAFE_ENTRY');
    await expectErrorCode(collect(packDirectory(root, ['/etc/passwd'])), 'ERR_ARCHIVE_UNSAFE_ENTRY');
  });
});
