import { randomBytes, randomInt } from 'node:crypto';
import { generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';
import { createSealStream, isSealed, sealedKeyId, sealedLength, SEALED_HEADER_BYTES } from '../../../src/crypto/seal';
import { collect, expectSameBytes, openBuffer, sealBuffer } from './sealing-helpers';

const KIB = 1024;
const CHUNK = 64 * KIB;
const HASH = '4f1c0d8e2b7a9c36';

describe('sealing round trip', () => {
  const [key] = parseEncryptionKeys(generateEncryptionKey());

  it.each([
    ['0 bytes', 0],
    ['1 byte', 1],
    ['exactly 64 KiB', CHUNK],
    ['64 KiB + 1', CHUNK + 1],
    ['two full chunks', 2 * CHUNK],
    ['several MiB', 5 * 1024 * KIB + 123],
  ])('%s comes back identical, at exactly sealedLength bytes', async (_name, size) => {
    const plaintext = randomBytes(size);
    const sealed = await sealBuffer(key!, HASH, plaintext);
    expect(sealed.length).toBe(sealedLength(size));
    expectSameBytes(await openBuffer([key!], HASH, sealed), plaintext);
  });

  it('round-trips random sizes fed in random pieces on both sides', async () => {
    for (let round = 0; round < 12; round++) {
      const plaintext = randomBytes(randomInt(0, 4 * CHUNK));
      const pieces = splitRandomly(plaintext);
      const sealed = await collect(pieces, createSealStream(key!, HASH));
      expect(sealed.length).toBe(sealedLength(plaintext.length));
      expectSameBytes(await openBuffer([key!], HASH, splitRandomly(sealed)), plaintext);
    }
  });

  it('contains no plaintext and differs every time (fresh salt and nonce)', async () => {
    const plaintext = Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(100));
    const a = await sealBuffer(key!, HASH, plaintext);
    const b = await sealBuffer(key!, HASH, plaintext);
    expect(a.includes(Buffer.from('quick brown fox'))).toBe(false);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(14, SEALED_HEADER_BYTES).equals(b.subarray(14, SEALED_HEADER_BYTES))).toBe(false);
  });

  it('marks sealed output with a magic that isSealed recognises, naming the key id', async () => {
    const sealed = await sealBuffer(key!, HASH, Buffer.from('x'));
    expect(isSealed(sealed.subarray(0, 5))).toBe(true);
    expect(sealedKeyId(sealed)).toBe(key!.id);
    expect(isSealed(Buffer.from([0x1f, 0x8b, 8, 0, 0]))).toBe(false);
    expect(isSealed(Buffer.alloc(0))).toBe(false);
  });

  it('computes sealedLength for chunk boundaries', () => {
    const header = SEALED_HEADER_BYTES;
    expect(sealedLength(0)).toBe(header + 16);
    expect(sealedLength(CHUNK - 1)).toBe(header + CHUNK - 1 + 16);
    expect(sealedLength(CHUNK)).toBe(header + CHUNK + 32);
    expect(() => sealedLength(-1)).toThrow(RangeError);
    expect(() => sealedLength(1.5)).toThrow(RangeError);
  });
});

describe('keys', () => {
  it('opens an artifact sealed by an earlier version with the same generated key (key ids did not change)', async () => {
    const [key] = parseEncryptionKeys(`nxsk1_${Buffer.alloc(32, 1).toString('base64url')}`);
    const sealedEarlier = Buffer.from(
      'TlhTQwEQ6GMZzoBvEeDXxE4AN90Q7uoYZ4elwT4AI904z5McIQiecn1ZjQ5kcRKR1XTzM2U90Pt8qm7SDvohf8MkhEH/3voBn04UL9+qiMliV2YYn2HoTelTznSU',
      'base64',
    );
    expectSameBytes(await openBuffer([key!], 'golden-hash', sealedEarlier), Buffer.from('sealed before the change'));
  });

  it('rotation: an artifact sealed with B opens with [A, B], and new seals use A', async () => {
    const a = generateEncryptionKey();
    const b = generateEncryptionKey();
    const [oldKey] = parseEncryptionKeys(b);
    const rotated = parseEncryptionKeys(`${a},${b}`);
    const plaintext = randomBytes(3 * CHUNK + 7);
    expectSameBytes(await openBuffer(rotated, HASH, await sealBuffer(oldKey!, HASH, plaintext)), plaintext);
    const fresh = await sealBuffer(rotated[0]!, HASH, plaintext);
    expect(sealedKeyId(fresh)).toBe(parseEncryptionKeys(a)[0]!.id);
    expectSameBytes(await openBuffer(parseEncryptionKeys(a), HASH, fresh), plaintext);
  });
});

function splitRandomly(data: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    const size = randomInt(1, 100 * KIB);
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}
