/** Crafting (possibly hostile) archives and scratch folders for archive tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { isSealedCacheError, type ErrorCode } from '../../../src/errors';

export type RawHeader = Parameters<tar.Pack['entry']>[0];
export interface RawEntry {
  header: RawHeader;
  content?: Buffer | string;
}

/** A gzip'd tar with exactly the headers given, bypassing every check our packer makes. */
export async function rawTarGz(entries: RawEntry[], gzipLevel = 6): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack.pipe(createGzip({ level: gzipLevel })));
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

export async function collect(source: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(
    source,
    new Writable({
      write(chunk: Buffer, _encoding, next) {
        parts.push(chunk);
        next();
      },
    }),
  );
  return Buffer.concat(parts);
}

export function fromBuffer(data: Buffer): Readable {
  return Readable.from([data]);
}

/** Temp folders made during a test, removed by `removeTempDirs` in afterEach. */
const tempDirs: string[] = [];

export function makeTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nx-sealed-cache-${label}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export async function expectErrorCode(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isSealedCacheError(outcome, code)) {
    throw new Error(
      `expected ${code}, got ${outcome instanceof Error ? `${(outcome as { code?: string }).code ?? ''} ${outcome.message}` : String(outcome)}`,
    );
  }
  return outcome;
}

/** Every path below `dir`, relative, sorted; symlinks are listed, not followed. */
export function listTree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}
