/** Buffer-in, buffer-out wrappers around the seal/open streams (and the in-memory opener), for tests only. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createOpenStream, createSealStream, openSealedBuffer, type SealOptions } from '../../../src/crypto/seal';
import { isSealedCacheError } from '../../../src/errors';
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

/**
 * Opens with the stream and with openSealedBuffer (the proxy's in-memory path) and requires them to agree: the same
 * bytes, or both failing with ERR_SEAL_OPEN_FAILED. So every round trip and tampering test covers both openers.
 */
export async function openBuffer(keys: SealingKey[], taskHash: string, sealed: Buffer | Buffer[]): Promise<Buffer> {
  const whole = Array.isArray(sealed) ? Buffer.concat(sealed) : sealed;
  let held: Buffer | undefined;
  let heldError: unknown;
  try {
    held = openSealedBuffer(keys, taskHash, whole);
  } catch (err) {
    heldError = err;
  }
  let streamed: Buffer;
  try {
    streamed = await collect(Array.isArray(sealed) ? sealed : [sealed], createOpenStream(keys, taskHash));
  } catch (err) {
    expect(held).toBeUndefined();
    expect(isSealedCacheError(heldError, 'ERR_SEAL_OPEN_FAILED')).toBe(true);
    expect((heldError as Error).message).toBe((err as Error).message);
    throw err;
  }
  expect(heldError).toBeUndefined();
  expectSameBytes(held!, streamed);
  return streamed;
}

/** Byte equality without jest's element-by-element diff, which takes seconds on MiB buffers. */
export function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}
