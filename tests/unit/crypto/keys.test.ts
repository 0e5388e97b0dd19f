import { inspect } from 'node:util';
import { isSealedCacheError } from '../../../src/errors';
import { findKeyById, generateEncryptionKey, parseEncryptionKeys } from '../../../src/crypto/keys';

const PASSPHRASE = 'correct-horse-battery-staple';
/** A fixed generated key and the id the format has always given it: ids must never change under stored artifacts. */
const PINNED_KEY = `nxsk1_${Buffer.alloc(32, 1).toString('base64url')}`;
const PINNED_KEY_ID = 'e86319ce806f11e0';

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

  it('refuses a passphrase (anything without the prefix), naming only its length and how to generate a key', () => {
    const message = expectKeyInvalid(PASSPHRASE);
    expect(message).toContain(`${PASSPHRASE.length} characters`);
    expect(message).toContain('Passphrases are not accepted');
    expect(message).toContain("randomBytes(32).toString('base64url')");
    expect(message).not.toContain(PASSPHRASE);
    expect(expectKeyInvalid('a-very-long-passphrase-of-many-words-indeed')).not.toContain('many-words');
  });

  it('keeps the key id of a generated key unchanged (HKDF of the 256-bit key), so artifacts sealed earlier still open', () => {
    expect(parseEncryptionKeys(PINNED_KEY)[0]!.id).toBe(PINNED_KEY_ID);
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
    const c = generateEncryptionKey();
    const keys = parseEncryptionKeys(` ${a},\n ${b} ${c}`);
    expect(keys.map((key) => key.id)).toEqual([a, b, c].map((text) => parseEncryptionKeys(text)[0]!.id));
  });

  it('reports which key in a list is not a generated key, still without its value', () => {
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
