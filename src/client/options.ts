/**
 * The nx.json options this package reads: runner options on Nx 17–20, plugin options on 20.8+.
 * Nx mixes its own arguments into runner options, so unknown keys are reported, never fatal.
 */
import { z } from 'zod';
import { SealedCacheError } from '../errors';
import { WORKSPACE_ID_PATTERN } from '../protocol';
import { ID_TOKEN_VARIABLE_PATTERN } from './ci-identity-env';

/** Never `accessToken`: Nx 21+ reads that key as an Nx Cloud token and swaps runners. */
export const SealedCacheOptions = z.object({
  url: z.string().min(1).optional(),
  workspaceId: z.string().regex(WORKSPACE_ID_PATTERN, 'must be "ws_" followed by 20 letters or digits').optional(),
  encryptionKey: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
  maxArtifactBytes: z.number().int().positive().optional(),
  /** Public keys whose signatures readers accept (several during a rotation); never private keys. */
  trustedSigners: z
    .array(
      z
        .object({
          keyId: z.string().regex(/^[0-9a-f]{16}$/, 'keyId must be 16 lowercase hex characters'),
          publicKey: z.string().min(1),
        })
        .strict(),
    )
    .min(1)
    .max(16)
    .optional(),
  /** Default true when trustedSigners is set: an entry without a valid listed signature is a miss. */
  requireSignatures: z.boolean().optional(),
  /** CI identity (docs/ci-identity.md): false turns the OIDC exchange off. */
  ciIdentity: z.boolean().optional(),
  /** GitLab: the `id_tokens:` variable holding the job's JWT. */
  idTokenVariable: z.string().regex(ID_TOKEN_VARIABLE_PATTERN, 'must be an environment variable name').optional(),
  /** The audience asked of GitHub and required by the trust policy; default the server URL's origin. */
  idTokenAudience: z.string().min(1).max(300).optional(),
});
export type SealedCacheOptions = z.infer<typeof SealedCacheOptions>;

export const SEALED_CACHE_OPTION_KEYS = Object.keys(SealedCacheOptions.shape) as ReadonlyArray<
  keyof SealedCacheOptions
>;

/** Keys whose values are secrets: validation messages name them but never echo what was received. */
const SECRET_OPTION_KEYS: ReadonlySet<string> = new Set(['encryptionKey', 'token']);

export interface ParsedSealedCacheOptions {
  options: SealedCacheOptions;
  unknownKeys: string[];
}

/** Picks our keys out of `raw` and validates them; other keys are returned for the caller to report or ignore. */
export function parseSealedCacheOptions(raw: unknown): ParsedSealedCacheOptions {
  if (raw === undefined || raw === null) return { options: {}, unknownKeys: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `nx-sealed-cache options must be an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`,
    );
  }
  const record = raw as Record<string, unknown>;
  const ours: Record<string, unknown> = {};
  const unknownKeys: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if ((SEALED_CACHE_OPTION_KEYS as readonly string[]).includes(key)) {
      if (value !== undefined) ours[key] = value;
    } else {
      unknownKeys.push(key);
    }
  }
  const result = SealedCacheOptions.safeParse(ours);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue?.path[0] ?? 'options');
    const detail = SECRET_OPTION_KEYS.has(key)
      ? `must be a non-empty string (got ${describeValueType(ours[key])})`
      : (issue?.message ?? 'is invalid');
    throw new SealedCacheError('ERR_CONFIG_INVALID', `nx-sealed-cache option "${key}" ${detail}`);
  }
  return { options: result.data, unknownKeys };
}

/** Returns a copy of `raw` without our keys, so Nx's default runner never sees a token or a key. */
export function withoutSealedCacheOptions<T extends Record<string, unknown>>(
  raw: T,
): Omit<T, keyof SealedCacheOptions> {
  const copy: Record<string, unknown> = { ...raw };
  for (const key of SEALED_CACHE_OPTION_KEYS) delete copy[key];
  return copy as Omit<T, keyof SealedCacheOptions>;
}

function describeValueType(value: unknown): string {
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}
