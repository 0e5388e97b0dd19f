/** Validates what the user typed for `nx g nx-sealed-cache:init`. */
import { z } from 'zod';
import { SealedCacheError } from '../../src/errors';
import { normaliseServerUrl } from '../../src/client/server-url';
import { WORKSPACE_ID_PATTERN } from '../../src/protocol';
import type { InitGeneratorSchema } from './schema';

const InitOptionsSchema = z.object({
  url: z.string().min(1).optional(),
  workspaceId: z.string().regex(WORKSPACE_ID_PATTERN, 'must be "ws_" followed by 20 letters or digits').optional(),
  encryption: z.enum(['none', 'generate']).default('none'),
  storeKeyInNxJson: z.boolean().default(false),
  trustedSigners: z.string().min(1).optional(),
  signing: z.enum(['none', 'generate']).default('none'),
  nxVersion: z.string().min(1).optional(),
  replaceExisting: z.boolean().default(false),
});

export type InitOptions = z.infer<typeof InitOptionsSchema>;

export function parseInitOptions(raw: InitGeneratorSchema): InitOptions {
  const result = InitOptionsSchema.safeParse(stripNxArgs(raw));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `--${String(issue?.path[0] ?? 'options')} ${issue?.message ?? 'is invalid'}`,
    );
  }
  const options = result.data;
  if (options.storeKeyInNxJson && options.encryption !== 'generate') {
    throw new SealedCacheError('ERR_INPUT_INVALID', '--storeKeyInNxJson only makes sense with --encryption generate');
  }
  return options.url ? { ...options, url: normaliseServerUrl(options.url, '--url') } : options;
}

/**
 * Where the server URL comes from: `--url` (or the prompt), the url already in nx.json, or NX_SEALED_CACHE_URL
 * set now, which then has to be set on every machine. Anything else would write an entry that cannot reach a server.
 */
export function requireServerUrl(
  given: string | undefined,
  inNxJson: unknown,
  env: Readonly<Record<string, string | undefined>>,
): void {
  if (given || (typeof inNxJson === 'string' && inNxJson.length > 0) || env.NX_SEALED_CACHE_URL?.trim()) return;
  throw new SealedCacheError(
    'ERR_INPUT_INVALID',
    '--url is required: the base URL of your nx-sealed-cache server, e.g. ' +
      '`nx g nx-sealed-cache:init --url=https://cache.example.com` (or set NX_SEALED_CACHE_URL on every machine and in CI). nx.json was not changed.',
  );
}

/** Nx passes its own flags (e.g. dryRun, interactive) alongside the schema's; an empty prompt answer means "not given". */
function stripNxArgs(raw: InitGeneratorSchema): Record<string, unknown> {
  const { url, workspaceId, encryption, storeKeyInNxJson, nxVersion, replaceExisting, trustedSigners, signing } = raw;
  return Object.fromEntries(
    Object.entries({
      url,
      workspaceId,
      encryption,
      storeKeyInNxJson,
      nxVersion,
      replaceExisting,
      trustedSigners,
      signing,
    }).filter(([, value]) => value !== undefined && !(typeof value === 'string' && value.trim() === '')),
  );
}
