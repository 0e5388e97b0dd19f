/**
 * The per-user login file written by `nx-sealed-cache login`: personal access tokens keyed by
 * normalised server URL (plus `/w/<workspace id>` for a token bound to one workspace, as browser
 * login gives), outside any repository, readable only by its owner.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { SealedCacheError } from '../errors';
import { credentialsFilePath } from './credentials-path';
import { normaliseServerUrl } from './server-url';

const StoredCredentialSchema = z.object({
  token: z.string().min(1),
  tokenId: z.string().nullable().optional(),
  userName: z.string().nullable().optional(),
  expiresAt: z.string().nullable().optional(),
  /** The workspace a bound token serves; its entry is keyed `<url>/w/<id>`. */
  workspaceId: z.string().nullable().optional(),
  savedAt: z.string(),
});
export type StoredCredential = z.infer<typeof StoredCredentialSchema>;
export type StoredCredentialMeta = Pick<StoredCredential, 'tokenId' | 'userName' | 'expiresAt' | 'workspaceId'>;

/** A workspace's own entry, or the server-wide one. */
const entryKey = (url: string, workspaceId?: string | null): string =>
  workspaceId ? `${normaliseServerUrl(url)}/w/${workspaceId}` : normaliseServerUrl(url);

const CredentialsFileSchema = z.object({
  version: z.literal(1),
  servers: z.record(z.string(), StoredCredentialSchema),
});
type CredentialsFile = z.infer<typeof CredentialsFileSchema>;

export interface StoredCredentialLookup {
  credential: StoredCredential | null;
  /** Set when a file exists but was not used (unsafe permissions, unreadable, malformed). Never contains the token. */
  warning?: string;
}

export { credentialsFilePath } from './credentials-path';

/** The token stored for this workspace on this server, else the server-wide one. */
export function readStoredCredential(
  url: string,
  homeDir?: string,
  env: NodeJS.ProcessEnv = process.env,
  workspaceId?: string,
): StoredCredentialLookup {
  const path = credentialsFilePath(homeDir, env);
  const loaded = loadCredentialsFile(path);
  if ('warning' in loaded) return { credential: null, warning: loaded.warning };
  const servers = loaded.file?.servers ?? {};
  return {
    credential: (workspaceId ? servers[entryKey(url, workspaceId)] : undefined) ?? servers[entryKey(url)] ?? null,
  };
}

export function storeCredential(
  url: string,
  token: string,
  meta: StoredCredentialMeta = {},
  homeDir?: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const path = credentialsFilePath(homeDir, env);
  const current = loadCredentialsFileStrict(path);
  const servers = {
    ...current.servers,
    [entryKey(url, meta.workspaceId)]: { ...meta, token, savedAt: new Date().toISOString() },
  };
  writeCredentialsFile(path, { version: 1, servers });
  return path;
}

/** Every entry stored for this server (server-wide and per workspace), for `logout` to revoke. */
export function listStoredCredentials(
  url: string,
  homeDir?: string,
  env: NodeJS.ProcessEnv = process.env,
): StoredCredential[] {
  const current = loadCredentialsFileStrict(credentialsFilePath(homeDir, env));
  const key = entryKey(url);
  return Object.entries(current.servers)
    .filter(([name]) => name === key || name.startsWith(`${key}/w/`))
    .map(([, credential]) => credential);
}

/** Removes every entry for this server (server-wide and per workspace); returns whether any existed. */
export function removeStoredCredential(url: string, homeDir?: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const path = credentialsFilePath(homeDir, env);
  const current = loadCredentialsFileStrict(path);
  const key = entryKey(url);
  const servers = Object.fromEntries(
    Object.entries(current.servers).filter(([name]) => name !== key && !name.startsWith(`${key}/w/`)),
  );
  if (Object.keys(servers).length === Object.keys(current.servers).length) return false;
  writeCredentialsFile(path, { version: 1, servers });
  return true;
}

type LoadResult = { file: CredentialsFile | null } | { warning: string };

function loadCredentialsFile(path: string): LoadResult {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { file: null };
    return {
      warning: `nx-sealed-cache: cannot read the login file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); ignoring it.`,
    };
  }
  // Group/world-readable token files leak to other local users; refuse rather than silently use them.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    return {
      warning: `nx-sealed-cache: ignoring the login file ${path} because other users can read it (mode ${(mode & 0o777).toString(8)}). Run \`chmod 600 ${path}\` or log in again.`,
    };
  }
  try {
    const parsed = CredentialsFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success)
      return {
        warning: `nx-sealed-cache: the login file ${path} is malformed; ignoring it. Log in again to rewrite it.`,
      };
    return { file: parsed.data };
  } catch {
    return {
      warning: `nx-sealed-cache: the login file ${path} is not valid JSON; ignoring it. Log in again to rewrite it.`,
    };
  }
}

/** For writers: a malformed file is replaced, but a file we may not use is an error so nothing is lost silently. */
function loadCredentialsFileStrict(path: string): CredentialsFile {
  const loaded = loadCredentialsFile(path);
  if ('warning' in loaded) {
    if (loaded.warning.includes('other users can read it'))
      throw new SealedCacheError('ERR_CONFIG_INVALID', loaded.warning);
    return { version: 1, servers: {} };
  }
  return loaded.file ?? { version: 1, servers: {} };
}

function writeCredentialsFile(path: string, file: CredentialsFile): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(dir, 0o700);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temp, path);
  } catch (cause) {
    rmSync(temp, { force: true });
    throw new SealedCacheError('ERR_CONFIG_INVALID', `cannot write the login file ${path}`, { cause });
  }
}
