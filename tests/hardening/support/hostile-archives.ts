/** Hostile artifacts: gzip'd tars with escaping entries, and sealed blobs altered in every way the format guards. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { createSealStream, type SealingKey } from '../../../src/crypto';
import type { SeededRandom } from './seeded-random';

type Header = Parameters<tar.Pack['entry']>[0];
export interface TarEntry {
  header: Header;
  content?: Buffer | string;
}

export async function collect(source: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(source, new Writable({ write: (chunk: Buffer, _enc, next) => (parts.push(chunk), next()) }));
  return Buffer.concat(parts);
}

/** A gzip'd tar with exactly these headers, bypassing every check our packer makes. */
export async function tarGz(entries: TarEntry[], level = 6): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack.pipe(createGzip({ level })));
  for (const entry of entries) {
    await new Promise<void>((resolve, reject) => {
      const callback = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (entry.content === undefined) pack.entry(entry.header, callback);
      else pack.entry(entry.header, entry.content, callback);
    });
  }
  pack.finalize();
  return done;
}

export async function seal(plain: Buffer, key: SealingKey, hash: string): Promise<Buffer> {
  return collect(Readable.from([plain]).pipe(createSealStream(key, hash)));
}

const file = (name: string, content: string | Buffer): TarEntry => ({
  header: { name, type: 'file', mode: 0o644 },
  content,
});

/** The legitimate part of a legacy (Nx 17–20) entry; hostile entries are added after it. */
export function legacyBase(marker: string): TarEntry[] {
  return [file('terminalOutput', `built ${marker}\n`), file('code', '0'), file('outputs/dist/ok.txt', 'ok')];
}

export interface HostileTar {
  name: string;
  entries: TarEntry[];
  /** Absolute paths that must not exist after any restore attempt. */
  escapeTargets: string[];
}

/** Tar entries that try to leave the extraction folder; `outside` is a folder outside every cache folder. */
export function hostileTars(outside: string, marker: string): HostileTar[] {
  const target = (name: string): string => `${outside}/${name}-${marker}`;
  const climb = '../'.repeat(12);
  return [
    {
      name: '.. in an entry name',
      entries: [file(`outputs/${climb}${target('dotdot').slice(1)}`, 'x')],
      escapeTargets: [target('dotdot')],
    },
    { name: 'leading ..', entries: [file(`../escape-${marker}`, 'x')], escapeTargets: [] },
    { name: 'absolute path', entries: [file(target('absolute'), 'x')], escapeTargets: [target('absolute')] },
    { name: 'backslash traversal', entries: [file(`outputs\\..\\..\\escape-${marker}`, 'x')], escapeTargets: [] },
    {
      name: 'symlink out, then a file through it',
      entries: [
        { header: { name: 'outputs/link', type: 'symlink', linkname: `${climb}${outside.slice(1)}` } },
        file(`outputs/link/through-${marker}`, 'x'),
      ],
      escapeTargets: [`${outside}/through-${marker}`],
    },
    {
      name: 'absolute symlink, then a file through it',
      entries: [
        { header: { name: 'outputs/abs', type: 'symlink', linkname: outside } },
        file(`outputs/abs/abs-through-${marker}`, 'x'),
      ],
      escapeTargets: [`${outside}/abs-through-${marker}`],
    },
    {
      name: 'symlink that climbs after a name',
      entries: [{ header: { name: 'outputs/a/l', type: 'symlink', linkname: '../x/../../../..' } }],
      escapeTargets: [],
    },
    {
      name: 'hard link to a file outside',
      entries: [{ header: { name: 'outputs/hl', type: 'link', linkname: '/etc/passwd' } }],
      escapeTargets: [],
    },
    {
      name: 'hard link climbing out',
      entries: [{ header: { name: 'outputs/hl2', type: 'link', linkname: `${climb}etc/passwd` } }],
      escapeTargets: [],
    },
    {
      name: 'character device',
      entries: [{ header: { name: 'outputs/null', type: 'character-device', devmajor: 1, devminor: 3 } }],
      escapeTargets: [],
    },
    {
      name: 'block device',
      entries: [{ header: { name: 'outputs/disk', type: 'block-device', devmajor: 8, devminor: 0 } }],
      escapeTargets: [],
    },
    { name: 'fifo', entries: [{ header: { name: 'outputs/fifo', type: 'fifo' } }], escapeTargets: [] },
    { name: 'duplicate entry replacing code', entries: [file('code', '1')], escapeTargets: [] },
  ];
}

/** A decompression bomb: `inflated` zero bytes in one entry, tiny once gzip'd. */
export async function bombTar(inflated: number): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack.pipe(createGzip({ level: 9 })));
  const entry = pack.entry({ name: 'outputs/bomb.bin', type: 'file', size: inflated, mode: 0o644 });
  const block = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < inflated; written += block.length) {
    if (!entry.write(block.subarray(0, Math.min(block.length, inflated - written))))
      await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
  }
  entry.end(() => undefined);
  pack.finalize();
  return done;
}

export function manyEntries(count: number): TarEntry[] {
  return Array.from({ length: count }, (_, i) => file(`outputs/many/${i}.txt`, ''));
}

const CHUNK = 64 * 1024 + 16;
const HEADER = 53;

export interface TamperedBlob {
  name: string;
  blob: Buffer;
}

/** Every way to alter a sealed blob of a plaintext longer than three chunks. */
export function tamperedBlobs(
  random: SeededRandom,
  sealed: Buffer,
  sealedForOtherHash: Buffer,
  sealedWithWrongKey: Buffer,
  plain: Buffer,
): TamperedBlob[] {
  const flipped = (at: number): Buffer => {
    const copy = Buffer.from(sealed);
    copy[at] = (copy[at] as number) ^ (1 << random.int(0, 7));
    return copy;
  };
  const chunk = (i: number): Buffer => sealed.subarray(HEADER + i * CHUNK, HEADER + (i + 1) * CHUNK);
  const header = sealed.subarray(0, HEADER);
  const rest = (from: number): Buffer => sealed.subarray(HEADER + from * CHUNK);
  return [
    { name: 'bit flipped in the magic', blob: flipped(random.int(0, 3)) },
    { name: 'bit flipped in the key id', blob: flipped(random.int(6, 13)) },
    { name: 'bit flipped in the salt', blob: flipped(random.int(14, 45)) },
    { name: 'bit flipped in the nonce prefix', blob: flipped(random.int(46, 52)) },
    { name: 'bit flipped in a chunk', blob: flipped(random.int(HEADER, HEADER + CHUNK - 17)) },
    { name: 'bit flipped in a tag', blob: flipped(HEADER + CHUNK - random.int(1, 16)) },
    { name: 'bit flipped in the last chunk', blob: flipped(sealed.length - random.int(1, 40)) },
    { name: 'stored under another hash', blob: sealedForOtherHash },
    { name: 'sealed with a key we do not have', blob: sealedWithWrongKey },
    { name: 'truncated at a chunk boundary', blob: sealed.subarray(0, HEADER + 2 * CHUNK) },
    { name: 'truncated mid-chunk', blob: sealed.subarray(0, HEADER + CHUNK + random.int(1, CHUNK - 1)) },
    { name: 'truncated to the header', blob: header },
    { name: 'last byte missing', blob: sealed.subarray(0, sealed.length - 1) },
    { name: 'chunks 0 and 1 swapped', blob: Buffer.concat([header, chunk(1), chunk(0), rest(2)]) },
    { name: 'chunk 1 dropped', blob: Buffer.concat([header, chunk(0), rest(2)]) },
    { name: 'chunk 0 duplicated', blob: Buffer.concat([header, chunk(0), chunk(0), rest(1)]) },
    { name: 'bytes appended', blob: Buffer.concat([sealed, random.bytes(random.int(1, 64))]) },
    { name: 'a second artifact appended', blob: Buffer.concat([sealed, sealed]) },
    { name: 'unsealed plaintext while a key is set', blob: plain },
    { name: 'random bytes', blob: random.bytes(random.int(1, 200_000)) },
    { name: 'empty', blob: Buffer.alloc(0) },
  ];
}
