/** Which server and workspace a command talks to, what this machine's credential may do there, and how to say it. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CacheServerClient } from '../client/cache-server-client';
import { applyCiIdentity } from '../client/ci-identity';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  ENV_ACCESS_TOKEN,
  ENV_URL,
  resolveClientConfig,
  type ClientConfig,
  type CredentialSource,
} from '../client/config';
import { listStoredCredentials } from '../client/credentials-store';
import { parseSealedCacheOptions, type SealedCacheOptions } from '../client/options';
import { normaliseServerUrl } from '../client/server-url';
import { accessLabel, tierWithMeaning } from '../access-text';
import { SealedCacheError } from '../errors';
import { WORKSPACE_ID_PATTERN, type AccessResponse } from '../protocol';
import { listWiredOptions } from '../nx-config/nx-json-wiring';
import type { PeopleCliIo, ServerFlags } from './people-commands';

export interface ServerTarget {
  url: string;
  workspaceId?: string;
  /** Our options from the nearest nx.json, if any. */
  nxJsonOptions: SealedCacheOptions;
}

export const DEFAULT_CLI_TIMEOUT_MS = 10_000;

/** `--url`, then NX_SEALED_CACHE_URL, then nx.json's `url`; the workspace from `--workspace` or nx.json. */
export function resolveServerTarget(flags: ServerFlags, io: PeopleCliIo): ServerTarget {
  const nxJsonOptions = readWorkspaceOptions(io.cwd);
  const envUrl = io.env[ENV_URL]?.trim();
  const raw = flags.url ?? (envUrl ? envUrl : undefined) ?? nxJsonOptions.url;
  if (!raw) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `which server? Pass --url, set ${ENV_URL}, or run inside a workspace whose nx.json sets "url".`,
    );
  }
  const url = normaliseServerUrl(raw, flags.url ? '--url' : envUrl ? ENV_URL : 'nx.json option "url"');
  const workspaceId = flags.workspace ?? nxJsonOptions.workspaceId;
  if (workspaceId !== undefined && !WORKSPACE_ID_PATTERN.test(workspaceId)) {
    throw new SealedCacheError('ERR_INPUT_INVALID', '--workspace must be "ws_" followed by 20 letters or digits');
  }
  return { url, ...(workspaceId ? { workspaceId } : {}), nxJsonOptions };
}

/** Our options from the nearest nx.json above `cwd` (runner or plugin); empty when there is none. */
export function readWorkspaceOptions(cwd: string): SealedCacheOptions {
  const nxJsonPath = findNxJson(cwd);
  if (!nxJsonPath) return {};
  let nxJson: unknown;
  try {
    nxJson = JSON.parse(readFileSync(nxJsonPath, 'utf8'));
  } catch (cause) {
    throw new SealedCacheError('ERR_CONFIG_INVALID', `${nxJsonPath} is not valid JSON`, { cause });
  }
  if (!nxJson || typeof nxJson !== 'object' || Array.isArray(nxJson)) return {};
  const merged = Object.assign({}, ...listWiredOptions(nxJson as Record<string, unknown>)) as Record<string, unknown>;
  return parseSealedCacheOptions(merged).options;
}

export function findNxJson(cwd: string): string | undefined {
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return join(dir, 'nx.json');
    if (dirname(dir) === dir) return undefined;
  }
}

export interface AccessTarget {
  url: string;
  workspaceId?: string;
  token?: string;
  timeoutMs?: number;
}

/** `GET <url>[/w/<id>]/v1/access` with one token; failures arrive as SealedCacheErrors with stable codes. */
export async function fetchAccess(target: AccessTarget): Promise<AccessResponse> {
  const requestMs = target.timeoutMs ?? DEFAULT_CLI_TIMEOUT_MS;
  const config: ClientConfig = {
    url: target.url,
    ...(target.workspaceId ? { workspaceId: target.workspaceId } : {}),
    credential: target.token ? { token: target.token, source: 'env' } : { source: 'none' },
    keys: [],
    keySource: 'none',
    verification: { signers: [], required: false },
    timeouts: { connectMs: Math.min(DEFAULT_CONNECT_TIMEOUT_MS, requestMs), requestMs },
    maxArtifactBytes: 0,
    warnings: [],
  };
  const client = new CacheServerClient(config);
  try {
    return await client.access();
  } finally {
    await client.close();
  }
}

/**
 * Outside a workspace, with no token in the environment, the one workspace this server's login file holds
 * (browser login stores its token under `<url>/w/<id>`): `login --workspace ws_…` then `whoami` just works.
 */
function loggedInWorkspace(target: ServerTarget, io: PeopleCliIo): string | undefined {
  if (target.workspaceId || io.env[ENV_ACCESS_TOKEN]?.trim()) return target.workspaceId;
  let stored: ReturnType<typeof listStoredCredentials>;
  try {
    stored = listStoredCredentials(target.url, io.homeDir, io.env);
  } catch {
    return undefined; // the resolution below reports an unusable file
  }
  const ids = new Set(stored.map((credential) => credential.workspaceId ?? null));
  const [only] = ids;
  return ids.size === 1 && only ? only : undefined;
}

/** The run-time resolution (env token, then login file, then nx.json), with `--url`/`--workspace` applied. */
export function resolveRunConfig(target: ServerTarget, io: PeopleCliIo): ClientConfig {
  const workspaceId = loggedInWorkspace(target, io);
  const options = {
    ...target.nxJsonOptions,
    url: target.url,
    ...(workspaceId ? { workspaceId } : {}),
  };
  const { [ENV_URL]: _flagWins, ...env } = io.env;
  return resolveClientConfig({ options, env, ...(io.homeDir ? { homeDir: io.homeDir } : {}) });
}

/**
 * What a run in this job would use: the same resolution, then, with no other credential, the CI identity
 * exchange the plugin and the runner make (src/client/ci-identity.ts); its failure is kept, never thrown.
 */
export async function resolveRunCredential(target: ServerTarget, io: PeopleCliIo): Promise<ClientConfig> {
  return applyCiIdentity(resolveRunConfig(target, io), io.env);
}

/** A GitLab job's identity token can be exchanged once: say what this exchange costs the job's Nx runs. */
export const GITLAB_SPENT_NOTE =
  "nx-sealed-cache: this job's GitLab identity token is now spent (one exchange per job): Nx runs later in this job fall back to the anonymous level; run whoami and doctor in a job of their own";

export const CREDENTIAL_SOURCE_TEXT: Record<CredentialSource, string> = {
  env: 'NX_SEALED_CACHE_ACCESS_TOKEN',
  login: 'the login file (nx-sealed-cache login)',
  'nx.json': 'the token committed in nx.json',
  none: 'no credential (anonymous)',
  'ci-identity': 'the CI job identity token, exchanged (docs/ci-identity.md)',
};

export function describeAccess(access: AccessResponse): string[] {
  const { workspace, principal } = access;
  const who = principal.user
    ? `${principal.user.name}${principal.user.bot ? ' (bot)' : ''}`
    : principal.kind === 'anonymous'
      ? 'anonymous'
      : '(no user)';
  const rights = accessLabel(access.access);
  return [
    `user:       ${who}`,
    `workspace:  ${workspace.name} (${workspace.id}) in ${workspace.organisation.name}`,
    `token:      ${principal.kind}${principal.tokenName ? ` "${principal.tokenName}"` : ''}${principal.tokenId ? ` [${principal.tokenId}]` : ''}`,
    `access:     ${rights}`,
    ...(access.tier
      ? [`tier:       ${tierWithMeaning(access.tier)}; writes to ${access.namespace ?? 'its own namespace'}`]
      : []),
    ...(access.expiresAt ? [`expires:    ${access.expiresAt}`] : []),
  ];
}
