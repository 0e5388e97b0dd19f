/** Buffer-in, buffer-out wrappers around the seal/open streams, for tests only. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createOpenStream, createSealStream, type SealOptions } from '../../../src/crypto/seal';
import type { SealingKey } from '../../../src/crypto/keys';

export async function collect(
  source: Readable | Iterable<Buffer>,
  ...stages: NodeJS.ReadWriteStream[]
): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(chunk);
      done();
    },
  });
  const input = source instanceof Readable ? source : Readable.from(source);
  await pipeline([input, ...stages, sink]);
  return Buffer.concat(parts);
}

export function sealBuffer(
  key: SealingKey,
  taskHash: string,
  plaintext: Buffer,
  options?: SealOptions,
): Promise<Buffer> {
  return collect([plaintext], createSealStream(key, taskHash, options));
}

export function openBuffer(keys: SealingKey[], taskHash: string, sealed: Buffer | Buffer[]): Promise<Buffer> {
  return collect(Array.isArray(sealed) ? sealed : [sealed], createOpenStream(keys, taskHash));
}

/** Byte equality without jest's element-by-element diff, which takes seconds on MiB buffers. */
export function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}
