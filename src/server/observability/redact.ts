/** Scrubbing of secrets from anything that reaches a log line: tokens, bearer values, secret-looking query values, URL passwords. */

const TOKEN_LIKE = /nxsc_[A-Za-z]+_[A-Za-z0-9]{8,}/g;
const BEARER = /\b(Bearer|Basic)\s+[^\s"',;]+/gi;
const SECRET_QUERY = /([?&][^=&#]*(?:token|code|key|secret|password|session|sig)[^=&#]*=)[^&#]*/gi;
/** Path segments that are themselves secrets: the one-time codes of invite and first sign-in links. */
const SECRET_PATH_SEGMENT = /(\/(?:invite|first-sign-in)\/)[^/?#\s"',]+/gi;
/** The password of a URL's user info (`postgres://user:password@host/db`). */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@\s]+@/gi;
export const REDACTED = '[redacted]';

export function redactText(text: string): string {
  return text
    .replace(TOKEN_LIKE, REDACTED)
    .replace(BEARER, `$1 ${REDACTED}`)
    .replace(SECRET_QUERY, `$1${REDACTED}`)
    .replace(SECRET_PATH_SEGMENT, `$1${REDACTED}`)
    .replace(URL_PASSWORD, `$1${REDACTED}@`);
}

/** A copy of a log object with every string scrubbed; depth-limited so a cyclic object cannot hang logging. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1));
  if (value instanceof Error) return redactError(value);
  // Class instances (fastify's request and reply) are left to their serializers, which scrub what they keep.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = redactDeep(item, depth + 1);
  return copy;
}

function redactError(err: Error): Record<string, unknown> {
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    message: redactText(err.message),
    stack: err.stack === undefined ? undefined : redactText(err.stack),
    code,
  };
}
