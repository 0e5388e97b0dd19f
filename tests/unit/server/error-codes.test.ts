import { ERROR_CODES, SealedCacheError, type ErrorCode } from '../../../src/errors';
import { errorBody, statusOf, toSealedCacheError } from '../../../src/server/http-errors';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('error codes used by the server', () => {
  const used = new Set<string>();
  for (const file of [...sourceFiles(join(__dirname, '../../../src/server')), ...sourceFiles(join(__dirname, '../../../src/cli'))]) {
    for (const match of readFileSync(file, 'utf8').matchAll(/'(ERR_[A-Z_]*[A-Z])'/g)) used.add(match[1]);
  }

  it('finds the codes it checks', () => {
    expect(used.size).toBeGreaterThan(20);
  });

  it.each([...used])('%s is in ERROR_CODES and answers with its documented status', (code) => {
    expect(Object.keys(ERROR_CODES)).toContain(code);
    const err = new SealedCacheError(code as ErrorCode, 'message');
    expect(statusOf(err)).toBe(ERROR_CODES[code as ErrorCode].status);
    expect(errorBody(err)).toEqual({ error: { code, message: 'message' } });
  });

  it('maps unknown failures to ERR_INTERNAL and fastify parse errors to ERR_INPUT_INVALID', () => {
    expect(toSealedCacheError(new Error('boom')).code).toBe('ERR_INTERNAL');
    expect(toSealedCacheError(Object.assign(new Error('bad json'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 })).code).toBe('ERR_INPUT_INVALID');
  });
});
