/** Spooling a stream of unknown length to a file, so an upload can announce Content-Length. */
import * as fs from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Writes `source` to `filePath` (created new, owner-only) and resolves with the byte count. */
export async function spoolToFile(source: Readable, filePath: string): Promise<number> {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(source, counter, fs.createWriteStream(filePath, { flags: 'wx', mode: 0o600 }));
  return bytes;
}
