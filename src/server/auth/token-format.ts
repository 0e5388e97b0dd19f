/**
 * The shape of nx-sealed-cache tokens: `nxsc_<kind>_<32 random base62><6 base62 CRC32>`.
 * Pure and free of server state, so clients and secret scanners can check a token offline.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { SealedCacheError } from '../../errors';
import type { TokenKind } from '../../protocol';
import { encodeBase62, randomBase62 } from '../ids';

/** The kind as it appears inside the token (short, so scanners can match a fixed prefix). */
export const TOKEN_KIND_TAGS = { ci: 'ci', personal: 'pat', admin: 'adm' } as const satisfies Record<TokenKind, string>;

const RANDOM_LENGTH = 32; // 32 * log2(62) = 190 random bits
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32, so every CRC32 fits
export const TOKEN_PATTERN = /^nxsc_(ci|pat|adm)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

export interface ParsedToken {
  kind: TokenKind;
  value: string;
}

function checksumOf(body: string): string {
  return encodeBase62(crc32(body), CHECKSUM_LENGTH);
}

export function generateToken(kind: TokenKind): string {
  const body = `nxsc_${TOKEN_KIND_TAGS[kind]}_${randomBase62(RANDOM_LENGTH)}`;
  return body + checksumOf(body);
}

/** Validates shape and checksum without any lookup; throws ERR_AUTH_TOKEN_MALFORMED. */
export function parseToken(value: string): ParsedToken {
  const match = TOKEN_PATTERN.exec(value);
  if (!match) {
    throw new SealedCacheError(
      'ERR_AUTH_TOKEN_MALFORMED',
      `token is not an nx-sealed-cache token (${value.length} characters, expected nxsc_<kind>_ + ${RANDOM_LENGTH + CHECKSUM_LENGTH})`,
    );
  }
  const body = value.slice(0, value.length - CHECKSUM_LENGTH);
  if (checksumOf(body) !== match[3]) {
    throw new SealedCacheError(
      'ERR_AUTH_TOKEN_MALFORMED',
      'token checksum does not match (mistyped or truncated token)',
    );
  }
  const tag = match[1] as (typeof TOKEN_KIND_TAGS)[TokenKind];
  const kind = (Object.keys(TOKEN_KIND_TAGS) as TokenKind[]).find((k) => TOKEN_KIND_TAGS[k] === tag) as TokenKind;
  return { kind, value };
}

/** What the database stores instead of the token: SHA-256, hex. */
export function hashToken(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
