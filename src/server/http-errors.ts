import type { FastifyError } from 'fastify';
import { ERROR_CODES, SealedCacheError, isSealedCacheError } from '../errors';
import type { ErrorBody } from '../protocol';

/** Any thrown value as a SealedCacheError: ours pass through, fastify's input errors are 400, the rest internal. */
export function toSealedCacheError(err: unknown): SealedCacheError {
  if (isSealedCacheError(err)) return err;
  const fastifyError = err as Partial<FastifyError> & { name?: string };
  if (typeof fastifyError.code === 'string' && fastifyError.code.startsWith('FST_ERR_CTP_')) {
    return new SealedCacheError('ERR_INPUT_INVALID', fastifyError.message ?? 'the request body could not be parsed', {
      cause: err,
    });
  }
  if (fastifyError.validation !== undefined || fastifyError.statusCode === 400) {
    return new SealedCacheError('ERR_INPUT_INVALID', fastifyError.message ?? 'invalid request', { cause: err });
  }
  if (fastifyError.name === 'SQLite3Error') {
    return new SealedCacheError('ERR_DATABASE_FAILED', 'the metadata database failed; nothing was changed', {
      cause: err,
    });
  }
  return new SealedCacheError('ERR_INTERNAL', 'an unexpected error occurred; nothing was changed', { cause: err });
}

export function errorBody(err: SealedCacheError): ErrorBody {
  return { error: { code: err.code, message: err.message } };
}

/** The status a code is documented with; the single place routes read it from. */
export function statusOf(err: SealedCacheError): number {
  return ERROR_CODES[err.code].status;
}
