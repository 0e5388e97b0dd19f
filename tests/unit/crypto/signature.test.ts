import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { isSealedCacheError } from '../../../src/errors';
import {
  createSignStream,
  createVerifyStream,
  type SignatureError,
  signatureHeader,
  signedLength,
  type SignatureVerification,
  type VerifiedBy,
  verifySignedBuffer,
} from '../../../src/crypto/signature';
import { FIXED_HEADER_BYTES, SIGNATURE_BYTES } from '../../../src/crypto/signed-format';
import {
  generateSigningKey,
  parseSigningKey,
  parseTrustedSigner,
  type SigningKey,
} from '../../../src/crypto/signing-keys';
import { collect, expectSameBytes } from './sealing-helpers';

const HASH = '11845310829516702455';
const IDENTITY = 'ci:ci-write';
const generated = generateSigningKey();
const key = parseSigningKey(generated.privateKeyText);
const signer = parseTrustedSigner(generated.publicKeyText, generated.keyId);
const other = generateSigningKey();
const otherKey = parseSigningKey(other.privateKeyText);
const otherSigner = parseTrustedSigner(other.publicKeyText);
const body = randomBytes(200_000);
const required: SignatureVerification = { signers: [signer], required: true };

function signBuffer(data: Buffer, signingKey: SigningKey = key, hash = HASH, parts = 7): Promise<Buffer> {
  const chunks = splitInto(data, parts);
  return collect(chunks, createSignStream(signingKey, signatureHeader(signingKey, IDENTITY), hash));
}

function splitInto(data: Buffer, parts: number): Buffer[] {
  const size = Math.ceil(data.length / parts) || 1;
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

/**
 * Verifies with the stream and with verifySignedBuffer (the proxy's in-memory path) and requires them to agree: the
 * same body and signer, or the same rejection. So every test below covers both.
 */
async function verifyBuffer(
  stored: Buffer | Buffer[],
  policy: SignatureVerification = required,
  hash = HASH,
): Promise<{ body: Buffer; by?: VerifiedBy }> {
  let held: { body: Buffer; verifiedBy?: VerifiedBy } | undefined;
  let heldError: unknown;
  try {
    held = verifySignedBuffer(policy, hash, Array.isArray(stored) ? Buffer.concat(stored) : stored);
  } catch (err) {
    heldError = err;
  }
  let by: VerifiedBy | undefined;
  let out: Buffer;
  try {
    out = await collect(
      Array.isArray(stored) ? stored : [stored],
      createVerifyStream(policy, hash, (v) => (by = v)),
    );
  } catch (err) {
    expect(held).toBeUndefined();
    expect(isSealedCacheError(heldError, 'ERR_SIGNATURE_INVALID')).toBe(true);
    expect((heldError as SignatureError).rejection).toBe((err as SignatureError).rejection);
    throw err;
  }
  expect(heldError).toBeUndefined();
  expectSameBytes(held!.body, out);
  expect(held!.verifiedBy).toEqual(by);
  return { body: out, by };
}

async function rejectionOf(stored: Buffer, policy = required, hash = HASH): Promise<string> {
  const failure = await verifyBuffer(stored, policy, hash).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isSealedCacheError(failure, 'ERR_SIGNATURE_INVALID')).toBe(true);
  return (failure as SignatureError).rejection;
}

function flipBit(data: Buffer, offset: number): Buffer {
  const copy = Buffer.from(data);
  copy[offset]! ^= 0x01;
  return copy;
}

describe('signing keys', () => {
  it('derives the same key id from the private and the public key, and prints no secret', () => {
    expect(key.id).toBe(generated.keyId);
    expect(signer.id).toBe(generated.keyId);
    expect(generated.keyId).toMatch(/^[0-9a-f]{16}$/);
    const seed = generated.privateKeyText.slice('nxsig1_'.length);
    expect(inspect(key)).not.toContain(seed);
    expect(JSON.stringify(key)).not.toContain(seed);
  });

  it('refuses a key id that belongs to another public key', () => {
    expect(() => parseTrustedSigner(generated.publicKeyText, other.keyId)).toThrow(/does not belong/);
  });

  it.each([
    ['no prefix', 'x'.repeat(43)],
    ['short', 'nxsig1_abcdefgh'],
    ['a public key where the private one belongs', generateSigningKey().publicKeyText],
  ])('refuses a malformed signing key (%s) by its length only', (_name, text) => {
    let failure: unknown;
    try {
      parseSigningKey(text);
    } catch (err) {
      failure = err;
    }
    expect(isSealedCacheError(failure, 'ERR_SIGNING_KEY_INVALID')).toBe(true);
    expect((failure as Error).message).not.toContain(text.slice(7));
    expect((failure as Error).message).toContain(`got ${text.length} characters`);
  });
});

describe('a signed entry', () => {
  let stored: Buffer;
  beforeAll(async () => {
    stored = await signBuffer(body);
  });

  it('is exactly signedLength bytes and verifies back to the same body, naming its key and writer', async () => {
    expect(stored.length).toBe(signedLength(body.length, signatureHeader(key, IDENTITY)));
    const { body: out, by } = await verifyBuffer(stored);
    expectSameBytes(out, body);
    expect(by).toEqual({ keyId: key.id, identity: IDENTITY });
  });

  it('verifies whatever the chunking of the input (one byte at a time across the header and trailer)', async () => {
    const pieces = [
      ...splitInto(stored.subarray(0, 40), 40),
      stored.subarray(40, stored.length - 70),
      ...splitInto(stored.subarray(stored.length - 70), 70),
    ];
    const { body: out, by } = await verifyBuffer(pieces);
    expectSameBytes(out, body);
    expect(by?.keyId).toBe(key.id);
  });

  it('signs an empty body too', async () => {
    const empty = await signBuffer(Buffer.alloc(0));
    expect((await verifyBuffer(empty)).body.length).toBe(0);
  });

  it('is a miss when moved to another hash', async () => {
    expect(await rejectionOf(stored, required, '11845310829516702456')).toBe('bad-signature');
  });

  it.each([
    ['the key id', 5],
    ['the identity', FIXED_HEADER_BYTES + 1],
    ['the first body byte', FIXED_HEADER_BYTES + IDENTITY.length],
    ['the middle of the body', 100_000],
    ['the last body byte', -SIGNATURE_BYTES - 1],
    ['the signature', -3],
  ])('is refused with a bit flipped in %s', async (_name, offset) => {
    const at = offset < 0 ? stored.length + offset : offset;
    // A flipped key id names a key nobody listed; every other flip breaks the signature.
    const expected = offset === 5 ? 'unlisted-key' : 'bad-signature';
    expect(await rejectionOf(flipBit(stored, at))).toBe(expected);
  });

  it('is refused when truncated or extended', async () => {
    expect(await rejectionOf(stored.subarray(0, stored.length - 1))).toBe('bad-signature');
    expect(await rejectionOf(Buffer.concat([stored, Buffer.of(0)]))).toBe('bad-signature');
    expect(await rejectionOf(stored.subarray(0, FIXED_HEADER_BYTES + 3))).toBe('malformed');
    expect(await rejectionOf(stored.subarray(0, FIXED_HEADER_BYTES + IDENTITY.length + 10))).toBe('malformed');
  });

  it('is refused when the modified body keeps the original signature', async () => {
    const modified = Buffer.from(stored);
    randomBytes(32).copy(modified, 5000);
    expect(await rejectionOf(modified)).toBe('bad-signature');
  });

  it('is refused when signed by a key not listed, and when its identity length is out of range', async () => {
    expect(await rejectionOf(await signBuffer(body, otherKey))).toBe('unlisted-key');
    const zeroIdentity = Buffer.from(stored);
    zeroIdentity.writeUInt16BE(0, FIXED_HEADER_BYTES - 2);
    expect(await rejectionOf(zeroIdentity)).toBe('malformed');
    const unknownVersion = flipBit(stored, 4);
    expect(await rejectionOf(unknownVersion)).toBe('malformed');
  });

  it('verifies under any of several listed keys (rotation)', async () => {
    const both: SignatureVerification = { signers: [otherSigner, signer], required: true };
    expect((await verifyBuffer(stored, both)).by?.keyId).toBe(key.id);
    expect((await verifyBuffer(await signBuffer(body, otherKey), both)).by?.keyId).toBe(otherKey.id);
  });
});

describe('unsigned entries', () => {
  it('are refused when signatures are required, even when empty', async () => {
    expect(await rejectionOf(body)).toBe('unsigned');
    expect(await rejectionOf(Buffer.alloc(0))).toBe('unsigned');
    expect(await rejectionOf(Buffer.from('NXS'))).toBe('unsigned');
  });

  it('pass unchanged when signatures are not required, and unlisted signatures are stripped unverified', async () => {
    const optional: SignatureVerification = { signers: [signer], required: false };
    const plain = await verifyBuffer(body, optional);
    expectSameBytes(plain.body, body);
    expect(plain.by).toBeUndefined();
    const unlisted = await verifyBuffer(await signBuffer(body, otherKey), optional);
    expectSameBytes(unlisted.body, body);
    expect(unlisted.by).toBeUndefined();
    // A listed key's bad signature is never accepted, required or not.
    const tampered = flipBit(await signBuffer(body), 1000);
    expect(await rejectionOf(tampered, optional)).toBe('bad-signature');
  });

  it('keep the reader without signers working: frames are removed, bodies pass', async () => {
    const none: SignatureVerification = { signers: [], required: false };
    expectSameBytes((await verifyBuffer(await signBuffer(body), none)).body, body);
    expectSameBytes((await verifyBuffer(body, none)).body, body);
  });
});
