import { randomBytes } from 'node:crypto';
import { isSealedCacheError } from '../../../src/errors';
import { generateEncryptionKey, parseEncryptionKeys, type SealingKey } from '../../../src/crypto/keys';
import { SEALED_HEADER_BYTES } from '../../../src/crypto/seal';
import { expectSameBytes, openBuffer, sealBuffer } from './sealing-helpers';

const CHUNK = 64 * 1024;
const SEALED_CHUNK = CHUNK + 16;
const HASH = '4f1c0d8e2b7a9c36';
const [key] = parseEncryptionKeys(generateEncryptionKey()) as [SealingKey];
/** Three full chunks and a short final one. */
const plaintext = randomBytes(3 * CHUNK + 1000);
let sealed: Buffer;

beforeAll(async () => {
  sealed = await sealBuffer(key, HASH, plaintext);
  expectSameBytes(await openBuffer([key], HASH, sealed), plaintext);
});

function chunkStart(index: number): number {
  return SEALED_HEADER_BYTES + index * SEALED_CHUNK;
}

function chunks(): Buffer[] {
  return [0, 1, 2, 3].map((i) => sealed.subarray(chunkStart(i), Math.min(chunkStart(i + 1), sealed.length)));
}

function header(): Buffer {
  return sealed.subarray(0, SEALED_HEADER_BYTES);
}

function flipBit(data: Buffer, offset: number): Buffer {
  const copy = Buffer.from(data);
  copy[offset]! ^= 0x01;
  return copy;
}

async function expectOpenFails(data: Buffer, keys: SealingKey[] = [key], taskHash = HASH): Promise<void> {
  const failure = await openBuffer(keys, taskHash, data).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isSealedCacheError(failure, 'ERR_SEAL_OPEN_FAILED')).toBe(true);
  expect((failure as Error).message).toMatch(/could not be opened/);
}

describe('opening a tampered artifact fails with ERR_SEAL_OPEN_FAILED', () => {
  it.each(Array.from({ length: SEALED_HEADER_BYTES }, (_, i) => i))('bit flipped in header byte %i', async (offset) => {
    await expectOpenFails(flipBit(sealed, offset));
  });

  it.each([0, 1, 2, 3])('bit flipped in the ciphertext of chunk %i', async (index) => {
    await expectOpenFails(flipBit(sealed, chunkStart(index) + 100));
  });

  it.each([0, 1, 2, 3])('bit flipped in the tag of chunk %i', async (index) => {
    const end = index === 3 ? sealed.length : chunkStart(index + 1);
    await expectOpenFails(flipBit(sealed, end - 3));
  });

  it.each([1, 2, 3])('truncated at the boundary before chunk %i', async (index) => {
    await expectOpenFails(sealed.subarray(0, chunkStart(index)));
  });

  it('truncated to the header alone, inside the header, or to nothing', async () => {
    await expectOpenFails(header());
    await expectOpenFails(sealed.subarray(0, 20));
    await expectOpenFails(Buffer.alloc(0));
  });

  it.each([1, 100, SEALED_CHUNK / 2])('truncated %i bytes into a chunk', async (into) => {
    await expectOpenFails(sealed.subarray(0, chunkStart(1) + into));
  });

  it('truncated inside the final chunk', async () => {
    await expectOpenFails(sealed.subarray(0, sealed.length - 1));
  });

  it('a chunk dropped', async () => {
    const [c0, , c2, c3] = chunks();
    await expectOpenFails(Buffer.concat([header(), c0!, c2!, c3!]));
  });

  it('two chunks reordered', async () => {
    const [c0, c1, c2, c3] = chunks();
    await expectOpenFails(Buffer.concat([header(), c1!, c0!, c2!, c3!]));
  });

  it('a chunk duplicated', async () => {
    const [c0, c1, c2, c3] = chunks();
    await expectOpenFails(Buffer.concat([header(), c0!, c1!, c1!, c2!, c3!]));
  });

  it.each([1, 16, 1000, SEALED_CHUNK])('%i bytes appended after the final chunk', async (extra) => {
    await expectOpenFails(Buffer.concat([sealed, randomBytes(extra)]));
  });

  it('the final chunk of another artifact appended', async () => {
    const other = await sealBuffer(key, HASH, Buffer.alloc(10));
    await expectOpenFails(Buffer.concat([sealed, other.subarray(SEALED_HEADER_BYTES)]));
  });

  it('a chunk swapped in from another artifact sealed under the same key and hash', async () => {
    const other = await sealBuffer(key, HASH, randomBytes(plaintext.length));
    const spliced = Buffer.from(sealed);
    other.copy(spliced, chunkStart(1), chunkStart(1), chunkStart(2));
    await expectOpenFails(spliced);
  });

  it('opened under another task hash', async () => {
    await expectOpenFails(sealed, [key], HASH + '0');
    await expectOpenFails(sealed, [key], 'ffffffffffffffff');
  });

  it('opened with the wrong key, or with no key at all', async () => {
    await expectOpenFails(sealed, parseEncryptionKeys(generateEncryptionKey()));
    await expectOpenFails(sealed, []);
  });

  it('the key id in the header swapped for another configured key', async () => {
    const [other] = parseEncryptionKeys(generateEncryptionKey());
    const forged = Buffer.from(sealed);
    Buffer.from(other!.id, 'hex').copy(forged, 6);
    await expectOpenFails(forged, [key, other!]);
  });

  it('an unsealed gzip body', async () => {
    await expectOpenFails(Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(200)]));
  });

  it('emits nothing before the first chunk authenticates', async () => {
    const emitted: Buffer[] = [];
    const { createOpenStream } = await import('../../../src/crypto/seal');
    const open = createOpenStream([key], HASH);
    open.on('data', (piece: Buffer) => emitted.push(piece));
    const failed = new Promise((resolve) => open.on('error', resolve));
    open.end(flipBit(sealed, chunkStart(0) + 5));
    expect(isSealedCacheError(await failed, 'ERR_SEAL_OPEN_FAILED')).toBe(true);
    expect(emitted).toHaveLength(0);
  });
});
