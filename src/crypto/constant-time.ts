/** One constant-time comparison for secrets and their digests, so no call site hand-rolls length checks. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digestOf = (value: string | Uint8Array): Buffer => createHash('sha256').update(value).digest();

/** True when `a` and `b` hold the same bytes; both are hashed first, so differing lengths neither throw nor leak through timing. */
export function equalSecrets(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return timingSafeEqual(digestOf(a), digestOf(b));
}
