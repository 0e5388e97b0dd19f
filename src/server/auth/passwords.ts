/**
 * Password hashing with scrypt from node:crypto (memory-hard). The stored string carries its own
 * parameters, `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`, so they can be raised later and
 * old hashes still verify (and are re-hashed on the next sign-in).
 */
import { randomBytes, scrypt, type ScryptOptions } from 'node:crypto';
import { equalSecrets } from '../../crypto/constant-time';
import { SealedCacheError } from '../../errors';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 2^15 x 8 x 128 bytes = 32 MiB per hash: costly to brute-force, fine for a sign-in. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;
const STORED_PATTERN = /^scrypt\$(\d{1,10})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

function deriveKey(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  // maxmem must exceed 128 * N * r, or node refuses the parameters.
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export function checkPasswordStrength(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new SealedCacheError(
      'ERR_WEB_PASSWORD_WEAK',
      `a password needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters (got ${password.length})`,
    );
  }
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, params, KEY_BYTES);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

function parseStored(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const match = STORED_PATTERN.exec(stored);
  if (!match) return undefined;
  const params = { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  return { params, salt: Buffer.from(match[4], 'base64url'), key: Buffer.from(match[5], 'base64url') };
}

/** Constant-time comparison of the derived key; a malformed stored value never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStored(stored);
  if (parsed === undefined || password.length > MAX_PASSWORD_LENGTH) return false;
  const key = await deriveKey(password, parsed.salt, parsed.params, parsed.key.length);
  return equalSecrets(key, parsed.key);
}

export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parseStored(stored);
  return parsed === undefined || parsed.params.N < params.N || parsed.params.r < params.r || parsed.params.p < params.p;
}
