/**
 * Encryption keys for sealed artifacts: generating them, parsing the configured list, and
 * deriving the 32-byte master key each one stands for. Raw key bytes live only inside
 * `KeyObject`s, which `console.log`, `util.inspect` and `JSON.stringify` never reveal.
 * Only generated keys (32 random bytes) are accepted: every sealed header names its key id, and an
 * id derived from a passphrase would let anyone holding one artifact test passphrase guesses offline.
 */
import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { SealedCacheError } from '../errors';

/** Prefix of generated keys; recognisable by secret scanners and by `parseEncryptionKeys`. */
export const GENERATED_KEY_PREFIX = 'nxsk1_';
export const KEY_ID_BYTES = 8;

const MASTER_KEY_BYTES = 32;
const GENERATED_KEY_PATTERN = /^nxsk1_[A-Za-z0-9_-]{43}$/;
const GENERATED_KEY_SALT = 'nx-sealed-cache/v1/generated-key';
const MASTER_KEY_INFO = 'nx-sealed-cache/v1/master';
const KEY_ID_INFO = 'nx-sealed-cache/v1/key-id';
/** How to make a key, for messages and docs. */
export const GENERATE_KEY_COMMAND = `node -e "console.log('nxsk1_' + require('crypto').randomBytes(32).toString('base64url'))"`;

export type SealingKeySource = 'generated';

export interface SealingKey {
  /** 16 hex characters derived one-way (HKDF) from the 256-bit key; safe to print and stored in every sealed header. */
  readonly id: string;
  readonly source: SealingKeySource;
  /** The 32-byte master key; a KeyObject so that printing or serialising a SealingKey shows nothing secret. */
  readonly material: KeyObject;
}

/** A new random key as text: `nxsk1_` + base64url of 32 random bytes. */
export function generateEncryptionKey(): string {
  return GENERATED_KEY_PREFIX + randomBytes(MASTER_KEY_BYTES).toString('base64url');
}

const KeySpec = z.string();

/**
 * Parses one key or a comma/whitespace separated list. The first key seals new artifacts;
 * the others only open artifacts sealed earlier (rotation).
 */
export function parseEncryptionKeys(spec: string): SealingKey[] {
  const parsed = KeySpec.safeParse(spec);
  if (!parsed.success) {
    throw new SealedCacheError('ERR_SEAL_KEY_INVALID', `encryption key must be a string, got ${typeof spec}`);
  }
  const texts = parsed.data.split(/[\s,]+/).filter((text) => text.length > 0);
  if (texts.length === 0) {
    throw new SealedCacheError('ERR_SEAL_KEY_INVALID', 'encryption key setting is empty');
  }
  return texts.map((text, index) => parseOneKey(text, index, texts.length));
}

function parseOneKey(text: string, index: number, count: number): SealingKey {
  const position = count > 1 ? ` (key ${index + 1} of ${count}; keys are separated by commas or whitespace)` : '';
  if (text.startsWith(GENERATED_KEY_PREFIX)) {
    if (!GENERATED_KEY_PATTERN.test(text)) {
      throw new SealedCacheError(
        'ERR_SEAL_KEY_INVALID',
        `encryption key starts with ${GENERATED_KEY_PREFIX} but is ${text.length} characters long or not base64url; ` +
          `expected ${GENERATED_KEY_PREFIX.length + 43}${position}`,
      );
    }
    return toSealingKey(deriveFromGeneratedKey(text), 'generated');
  }
  // Only the length is named: the value may be a secret someone meant as a key.
  throw new SealedCacheError(
    'ERR_SEAL_KEY_INVALID',
    `encryption key is not a generated key (${GENERATED_KEY_PREFIX} + 43 characters; got ${text.length} characters without the prefix)${position}. ` +
      `Passphrases are not accepted, because the key id in every sealed artifact would let anyone test guesses offline. ` +
      `Generate a key with: ${GENERATE_KEY_COMMAND}`,
  );
}

function toSealingKey(master: Buffer, source: SealingKeySource): SealingKey {
  const id = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), KEY_ID_INFO, KEY_ID_BYTES)).toString('hex');
  const material = createSecretKey(master);
  master.fill(0);
  return Object.freeze({ id, source, material });
}

function deriveFromGeneratedKey(text: string): Buffer {
  const raw = Buffer.from(text.slice(GENERATED_KEY_PREFIX.length), 'base64url');
  if (raw.length !== MASTER_KEY_BYTES) {
    throw new SealedCacheError(
      'ERR_SEAL_KEY_INVALID',
      `encryption key decodes to ${raw.length} bytes; expected ${MASTER_KEY_BYTES}`,
    );
  }
  const master = Buffer.from(hkdfSync('sha256', raw, GENERATED_KEY_SALT, MASTER_KEY_INFO, MASTER_KEY_BYTES));
  raw.fill(0);
  return master;
}

/** Finds the key a sealed header names, by id; undefined when none of the configured keys matches. */
export function findKeyById(keys: readonly SealingKey[], id: string): SealingKey | undefined {
  return keys.find((key) => key.id === id);
}
