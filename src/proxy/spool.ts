/**
 * Where an artifact waits while the proxy checks it: in memory when it is small and memory is left in the
 * proxy's budget, else in a temporary file, so memory stays bounded whatever the sizes and the concurrency.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Transform, addAbortSignal } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { whenDrained } from '../archive/artifact-inspection';

/** An artifact up to this size is held in memory (Nx 24 asks for every artifact of a run at once). */
export const IN_MEMORY_ARTIFACT_LIMIT = 8 * 1024 * 1024;
/** What all artifacts held in memory at one time may take together. */
export const IN_MEMORY_BUDGET = 64 * 1024 * 1024;

export type Spooled =
  | { kind: 'memory'; data: Buffer; bytes: number }
  | {
      kind: 'file';
      file: string;
      bytes: number;
      /** The check `inspectWhileSpooling` ran on the bytes as they went to the file, when one was given. */
      inspection?: Promise<void>;
    };

/** Bytes the proxy's requests may hold in memory together; a request that cannot reserve more spools to a file. */
export class MemoryBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUse(): number {
    return this.used;
  }
}

/**
 * Reads `source` into memory while it stays within `limit` and the budget lends the bytes; past that, writes what
 * it holds and the rest to `file` (0600, created new). A memory result keeps its reservation: call `release`.
 */
export async function spoolToMemoryOrFile(
  source: Readable,
  file: string,
  signal: AbortSignal,
  budget: MemoryBudget,
  limit = IN_MEMORY_ARTIFACT_LIMIT,
  inspectWhileSpooling?: (bytes: Readable) => Promise<void>,
): Promise<Spooled> {
  addAbortSignal(signal, source);
  const chunks: Buffer[] = [];
  let held = 0;
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return { kind: 'memory', data: Buffer.concat(chunks, held), bytes: held };
      const chunk = next.value;
      if (held + chunk.length > limit || !budget.reserve(chunk.length)) {
        chunks.push(chunk);
        break;
      }
      chunks.push(chunk);
      held += chunk.length;
    }
  } catch (err) {
    budget.release(held);
    throw err;
  }
  // Too large for memory: what is held goes first, then the rest of the stream.
  budget.release(held);
  const rest = (async function* () {
    try {
      yield* chunks.splice(0);
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  })();
  if (!inspectWhileSpooling) {
    const bytes = await spoolToFile(Readable.from(rest, { objectMode: false }), file, signal);
    return { kind: 'file', file, bytes };
  }
  // A large artifact is read once: the check keeps pace through a stream buffer while the file fills, so it
  // is decided (almost) when the last byte lands, not a whole second read later.
  const input = new PassThrough({ highWaterMark: 1024 * 1024 });
  const inspection = inspectWhileSpooling(input);
  inspection.catch(() => undefined); // the caller awaits it once the file is complete
  const teed = (async function* () {
    let ended = false;
    try {
      for await (const chunk of rest) {
        // A check that has decided (failed) reads no more; the file is still completed, then the verdict read.
        if (!input.destroyed && !input.write(chunk)) await whenDrained(input);
        yield chunk;
      }
      input.end();
      ended = true;
    } finally {
      if (!ended) input.destroy();
    }
  })();
  const bytes = await spoolToFile(Readable.from(teed, { objectMode: false }), file, signal);
  return { kind: 'file', file, bytes, inspection };
}

export function tempArtifactPath(tempDir: string, label: string): string {
  return path.join(tempDir, `${label}-${randomBytes(8).toString('hex')}`);
}

/** Copies a stream into a new 0600 file and returns how many bytes it held. */
export async function spoolToFile(source: Readable, file: string, signal: AbortSignal): Promise<number> {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(source, counter, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal });
  return bytes;
}

export async function removeQuietly(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true }).catch(() => undefined);
}
