/** Per-run and control secrets of the proxy; they are compared with equalSecrets (src/crypto/constant-time.ts). */
import { randomBytes } from 'node:crypto';

const RUN_SECRET_PREFIX = 'nxscp_';

/** 32 random bytes; the prefix tells a reader (or a secret scanner) it only opens the local proxy. */
export function createRunSecret(): string {
  return `${RUN_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function createControlSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header.trim());
  return match ? match[1]! : null;
}
