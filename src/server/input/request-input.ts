import { z } from 'zod';
import { SealedCacheError } from '../../errors';

/** zod at the edge: any admin body, query or param that fails its schema is ERR_INPUT_INVALID, changing nothing. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success)
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `invalid ${what}: ${z.prettifyError(result.error).replace(/\n/g, '; ')}`,
    );
  return result.data;
}

export const Name = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-", starting with a letter or digit');
export const IdOrName = z.string().trim().min(1).max(100);
