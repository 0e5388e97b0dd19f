/** Temporary files for artifacts passing through the proxy, so memory stays flat whatever their size. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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
