/**
 * Provider refresh tokens are kept sealed at rest: AES-256-GCM under a key derived with HKDF-SHA256 from
 * the server secret (`<data dir>/server-secret`, 32 random bytes made 0600 on first use), with a fresh
 * nonce each time and the identity (provider key + `sub`) as additional data, so a sealed value copied
 * to another identity's row does not open. Every way opening can fail gives the same `undefined`.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SealedCacheError } from '../../errors';
import type { SsoIdentityRef } from './sso-store';

export const SERVER_SECRET_FILE = 'server-secret';
const SECRET_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'v1.';
const INFO = 'nx-sealed-cache/sso-refresh-token/v1';

/** Reads the data dir's server secret, creating it (owner-only) the first time. */
export function loadServerSecret(dataDir: string): Buffer {
  const path = join(dataDir, SERVER_SECRET_FILE);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
  if (secret.length !== SECRET_BYTES)
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `${path} must hold ${SECRET_BYTES} bytes in base64url (it holds ${secret.length}); remove it to make a new one`,
    );
  return secret;
}

const aadOf = (ref: SsoIdentityRef): Buffer => Buffer.from(`${ref.provider}\n${ref.subject}`, 'utf8');

export class RefreshTokenBox {
  private readonly key: Buffer;

  constructor(serverSecret: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), INFO, 32));
  }

  seal(refreshToken: string, ref: SsoIdentityRef): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(aadOf(ref));
    const body = Buffer.concat([cipher.update(refreshToken, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The refresh token, or undefined when the value does not open (another key, another identity, altered). */
  open(sealed: string, ref: SsoIdentityRef): string | undefined {
    if (!sealed.startsWith(PREFIX)) return undefined;
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    if (raw.length < NONCE_BYTES + TAG_BYTES + 1) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE_BYTES));
      decipher.setAAD(aadOf(ref));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
