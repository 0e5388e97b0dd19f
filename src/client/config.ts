/**
 * Resolves everything a run needs from nx.json options, env vars and the login file, in the
 * documented order. Pure apart from reading the login file; secrets never reach a message.
 */
import { SealedCacheError } from '../errors';
import { parseEncryptionKeys, type SealingKey } from '../crypto/keys';
import type { SignatureVerification } from '../crypto/signature';
import { parseSigningKey, parseTrustedSigner, type SigningKey } from '../crypto/signing-keys';
import type { CiIdentityOptions, CiIdentityState } from './ci-identity';
import { readStoredCredential } from './credentials-store';
import { parseSealedCacheOptions, type SealedCacheOptions } from './options';
import { normaliseServerUrl } from './server-url';

import { ENV_ACCESS_TOKEN, ENV_ENCRYPTION_KEY, ENV_SIGNING_KEY, ENV_URL } from './env-names';

export { ENV_ACCESS_TOKEN, ENV_ENCRYPTION_KEY, ENV_SIGNING_KEY, ENV_URL } from './env-names';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_ARTIFACT_BYTES = 2 * 1024 ** 3;

export type CredentialSource = 'env' | 'login' | 'nx.json' | 'none' | 'ci-identity';
export type KeySource = 'env' | 'nx.json' | 'none';

export interface ClientConfig {
  url: string;
  workspaceId?: string;
  credential: { token?: string; source: CredentialSource };
  keys: SealingKey[];
  keySource: KeySource;
  /** Set when this run signs what it uploads. */
  signingKey?: SigningKey;
  /** How entries read from the server are checked; no signers and not required when nx.json lists none. */
  verification: SignatureVerification;
  timeouts: { connectMs: number; requestMs: number };
  maxArtifactBytes: number;
  warnings: string[];
  /** What the nx.json options say about CI identity (src/client/ci-identity.ts). */
  ciIdentityOptions?: CiIdentityOptions;
  /** Set once a CI identity was exchanged, or tried and not available. */
  identity?: CiIdentityState;
}

export interface ResolveClientConfigInput {
  options: unknown;
  env: NodeJS.ProcessEnv;
  homeDir?: string;
  /** The sealing proxy's plugin options hold only ours, so stray keys there are worth a warning; runner options are full of Nx's. */
  reportUnknownOptions?: boolean;
}

export function resolveClientConfig(input: ResolveClientConfigInput): ClientConfig {
  const { options, unknownKeys } = parseSealedCacheOptions(input.options);
  const warnings: string[] = [];
  if (unknownKeys.includes('signingKey')) {
    warnings.push(
      `nx-sealed-cache: ignoring "signingKey" in nx.json: a private signing key must never be committed. ` +
        `Give only the trusted job ${ENV_SIGNING_KEY}, and replace this key (\`nx-sealed-cache signing-key generate\`).`,
    );
  }
  if (input.reportUnknownOptions && unknownKeys.length > 0) {
    warnings.push(`nx-sealed-cache: ignoring unknown option(s) ${unknownKeys.map((k) => `"${k}"`).join(', ')}.`);
  }

  const envUrl = nonEmpty(input.env[ENV_URL]);
  const rawUrl = envUrl ?? options.url;
  if (!rawUrl) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `no cache server URL: set ${ENV_URL} or the "url" option in nx.json`,
    );
  }
  const url = normaliseServerUrl(rawUrl, envUrl ? ENV_URL : 'nx.json option "url"');

  const credential = resolveCredential(url, options.token, options.workspaceId, input, warnings);
  if (credential.source === 'none' && !options.workspaceId) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `no credential and no workspace: set ${ENV_ACCESS_TOKEN}, run \`nx-sealed-cache login\`, or add "workspaceId" to the nx.json options for anonymous access`,
    );
  }

  const envKey = nonEmpty(input.env[ENV_ENCRYPTION_KEY]);
  const rawKey = envKey ?? options.encryptionKey;
  const keySource: KeySource = envKey ? 'env' : options.encryptionKey ? 'nx.json' : 'none';
  const keys = rawKey ? parseKeysFrom(rawKey, keySource) : [];

  const verification = resolveVerification(options);
  const signingKey = resolveSigningKey(input.env, verification, warnings);

  const requestMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return {
    url,
    ...(options.workspaceId ? { workspaceId: options.workspaceId } : {}),
    credential,
    keys,
    keySource,
    ...(signingKey ? { signingKey } : {}),
    verification,
    timeouts: { connectMs: Math.min(DEFAULT_CONNECT_TIMEOUT_MS, requestMs), requestMs },
    maxArtifactBytes: options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES,
    warnings,
    ciIdentityOptions: {
      ciIdentity: options.ciIdentity,
      idTokenVariable: options.idTokenVariable,
      idTokenAudience: options.idTokenAudience,
    },
  };
}

function resolveCredential(
  url: string,
  optionsToken: string | undefined,
  workspaceId: string | undefined,
  input: ResolveClientConfigInput,
  warnings: string[],
): ClientConfig['credential'] {
  const envToken = nonEmpty(input.env[ENV_ACCESS_TOKEN]);
  if (envToken) return { token: headerSafeToken(envToken, ENV_ACCESS_TOKEN), source: 'env' };

  const stored = readStoredCredential(url, input.homeDir, input.env, workspaceId);
  if (stored.warning) warnings.push(stored.warning);
  if (stored.credential)
    return { token: headerSafeToken(stored.credential.token, 'the login file token'), source: 'login' };

  if (optionsToken) {
    warnings.push(
      'nx-sealed-cache: using the token written in nx.json. Anyone who can read this repository can use it; ' +
        'run `nx g nx-sealed-cache:convert-to-id` to replace it with a workspace id, and give CI its token through NX_SEALED_CACHE_ACCESS_TOKEN.',
    );
    return { token: headerSafeToken(optionsToken.trim(), 'nx.json option "token"'), source: 'nx.json' };
  }
  return { source: 'none' };
}

/** Tokens travel in a header; reject anything that cannot, describing only its length. */
function headerSafeToken(token: string, source: string): string {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `${source} contains spaces or non-printable characters (length ${token.length})`,
    );
  }
  return token;
}

function parseKeysFrom(raw: string, source: KeySource): SealingKey[] {
  try {
    return parseEncryptionKeys(raw);
  } catch (cause) {
    const where = source === 'env' ? ENV_ENCRYPTION_KEY : 'nx.json option "encryptionKey"';
    const why = cause instanceof Error ? cause.message : 'invalid';
    throw new SealedCacheError('ERR_CONFIG_INVALID', `${where} is not usable: ${why}`, { cause });
  }
}

function resolveVerification(options: SealedCacheOptions): SignatureVerification {
  const listed = options.trustedSigners ?? [];
  if (options.requireSignatures === true && listed.length === 0) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      'nx-sealed-cache option "requireSignatures" is true but "trustedSigners" lists no key',
    );
  }
  const signers = listed.map((signer, index) => {
    try {
      return parseTrustedSigner(signer.publicKey, signer.keyId);
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : 'invalid';
      throw new SealedCacheError('ERR_CONFIG_INVALID', `nx.json option "trustedSigners[${index}]": ${why}`, { cause });
    }
  });
  return { signers, required: options.requireSignatures ?? signers.length > 0 };
}

function resolveSigningKey(
  env: NodeJS.ProcessEnv,
  verification: SignatureVerification,
  warnings: string[],
): SigningKey | undefined {
  const raw = nonEmpty(env[ENV_SIGNING_KEY]);
  if (!raw) return undefined;
  let key: SigningKey;
  try {
    key = parseSigningKey(raw);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : 'invalid';
    throw new SealedCacheError('ERR_CONFIG_INVALID', `${ENV_SIGNING_KEY} is not usable: ${why}`, { cause });
  }
  if (verification.signers.length > 0 && !verification.signers.some((signer) => signer.id === key.id)) {
    warnings.push(
      `nx-sealed-cache: this run signs with key ${key.id}, which "trustedSigners" does not list; readers that require signatures will not use its uploads.`,
    );
  }
  return key;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
