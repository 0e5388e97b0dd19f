import { inspect } from 'node:util';
import { isSealedCacheError } from '../../../src/errors';
import { findKeyById, generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';

const PASSPHRASE = 'correct-horse-battery-staple';

function expectKeyInvalid(spec: string): string {
  try {
    parseEncryptionKeys(spec);
  } catch (err) {
    expect(isSealedCacheError(err, 'ERR_SEAL_KEY_INVALID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected ERR_SEAL_KEY_INVALID');
}

describe('generateEncryptionKey', () => {
  it('makes a prefixed base64url key of 32 random bytes, different every time', () => {
    const a = generateEncryptionKey();
    const b = generateEncryptionKey();
    expect(a).toMatch(/^nxsk1_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(6), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});

describe('parseEncryptionKeys', () => {
  it('parses a generated key into a key with a 16-hex id', () => {
    const [key] = parseEncryptionKeys(generateEncryptionKey());
    expect(key!.id).toMatch(/^[0-9a-f]{16}$/);
    expect(key!.source).toBe('generated');
  });

  it('gives the same id for the same key text and different ids for different keys', () => {
    const text = generateEncryptionKey();
    expect(parseEncryptionKeys(text)[0]!.id).toBe(parseEncryptionKeys(text)[0]!.id);
    expect(parseEncryptionKeys(generateEncryptionKey())[0]!.id).not.toBe(parseEncryptionKeys(text)[0]!.id);
  });

  it('never reveals key material through the id, inspect, JSON or string conversion', () => {
    const text = generateEncryptionKey();
    const raw = Buffer.from(text.slice(6), 'base64url');
    const [key] = parseEncryptionKeys(text);
    const shown = [inspect(key, { showHidden: true, depth: 10 }), JSON.stringify(key), String(key), key!.id].join('\n');
    expect(shown).not.toContain(text);
    expect(shown).not.toContain(text.slice(6));
    expect(shown).not.toContain(raw.toString('hex'));
    expect(shown).not.toContain(raw.subarray(0, 8).toString('hex'));
  });

  it('treats anything without the prefix as a passphrase and derives a stable key from it', () => {
    const [a] = parseEncryptionKeys(PASSPHRASE);
    const [b] = parseEncryptionKeys(PASSPHRASE);
    expect(a!.source).toBe('passphrase');
    expect(a!.id).toBe(b!.id);
    expect(a!.id).not.toBe(parseEncryptionKeys(PASSPHRASE + '!')[0]!.id);
    expect(inspect(a, { showHidden: true, depth: 10 }) + JSON.stringify(a)).not.toContain(PASSPHRASE);
  });

  it('rejects a passphrase under 16 characters, naming only its length', () => {
    const message = expectKeyInvalid('short-secret-15');
    expect(message).toContain('15 characters');
    expect(message).not.toContain('short-secret-15');
  });

  it('accepts a passphrase of exactly 16 characters', () => {
    expect(parseEncryptionKeys('exactly-16-chars')[0]!.source).toBe('passphrase');
  });

  it('rejects a malformed prefixed key instead of treating it as a passphrase', () => {
    const good = generateEncryptionKey();
    const message = expectKeyInvalid(good.slice(0, -1));
    expect(message).not.toContain(good.slice(6, -1));
    expectKeyInvalid(good + 'A');
    expectKeyInvalid(good.slice(0, -1) + '*');
  });

  it('rejects an empty setting', () => {
    expectKeyInvalid('');
    expectKeyInvalid(' , \n ');
  });

  it('splits a list on commas and whitespace, keeping order (first key seals)', () => {
    const a = generateEncryptionKey();
    const b = generateEncryptionKey();
    const keys = parseEncryptionKeys(` ${a},\n ${b} ${PASSPHRASE}`);
    expect(keys.map((key) => key.id)).toEqual([a, b, PASSPHRASE].map((text) => parseEncryptionKeys(text)[0]!.id));
  });

  it('reports which key in a list is too short, still without its value', () => {
    const message = expectKeyInvalid(`${generateEncryptionKey()},tiny`);
    expect(message).toContain('key 2 of 2');
    expect(message).not.toContain('tiny');
  });

  it('finds a key by id', () => {
    const keys = parseEncryptionKeys(`${generateEncryptionKey()},${generateEncryptionKey()}`);
    expect(findKeyById(keys, keys[1]!.id)).toBe(keys[1]);
    expect(findKeyById(keys, '0000000000000000')).toBeUndefined();
  });
});
