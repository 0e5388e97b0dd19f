/** One constant-time comparison for secrets and their digests, so no call site hand-rolls length checks. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digestOf = (value: string | Uint8Array): Buffer => createHash('sha256').update(value).digest();

/** True when `a` and `b` hold the same bytes; both are hashed first, so differing lengths neither throw nor leak through timing. */
export function equalSecrets(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return timingSafeEqual(digestOf(a), digestOf(b));
}

/**
 * For two digests of a public, fixed length (SHA-256 of a token and the stored one): compared as they are, in
 * constant time, without hashing them again; a length that differs (a malformed stored value) is false.
 */
export function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
