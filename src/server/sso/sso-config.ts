/**
 * The identity providers a server administrator configured for web sign-in (`ssoConfig`: a JSON file).
 * Client secrets come from a file or an env var named in it, never from the file itself, and are never
 * logged or echoed: errors name where the secret should be, not what it is.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { ASYMMETRIC_JWS_ALGORITHMS } from '../../crypto/jws-algorithms';

const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an env var name');

/** SCIM deprovisioning from this provider (docs/sso.md): the bearer token it sends, and how its users name identities. */
const ScimEntry = z
  .strictObject({
    tokenFile: z.string().min(1).optional(),
    tokenEnv: EnvName.optional(),
    /** Which SCIM attribute equals the OIDC `sub`: `externalId` (Okta, Keycloak) or `userName`. */
    subjectFrom: z.enum(['externalId', 'userName']).default('externalId'),
    /** Also match by the verified email of the identity's last sign-in (for providers whose SCIM ids are not the `sub`). */
    matchEmail: z.boolean().default(false),
  })
  .refine((s) => (s.tokenFile === undefined) !== (s.tokenEnv === undefined), {
    message: 'give exactly one of tokenFile and tokenEnv',
  });

const ProviderEntry = z
  .strictObject({
    /** Stable id used in URLs and in organisation policies. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and "-", at most 40'),
    displayName: z.string().trim().min(1).max(60),
    issuer: z.url(),
    clientId: z.string().min(1).max(500),
    clientSecretFile: z.string().min(1).optional(),
    clientSecretEnv: EnvName.optional(),
    /** ID token signing algorithms accepted (never `none` or an HMAC one). */
    algorithms: z.array(z.enum(ASYMMETRIC_JWS_ALGORITHMS)).min(1).default(['RS256']),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).default(['openid', 'email', 'profile']),
    /** Ask for `offline_access` and keep the refresh token (sealed) to re-check the identity (docs/sso.md). */
    refreshTokens: z.boolean().default(false),
    scim: ScimEntry.optional(),
  })
  .refine((p) => (p.clientSecretFile === undefined) !== (p.clientSecretEnv === undefined), {
    message: 'give exactly one of clientSecretFile and clientSecretEnv',
  });

const SsoFile = z.strictObject({
  /** The server's address as browsers reach it; redirect URIs are built from it, never from request headers. */
  publicUrl: z.url().transform((u) => u.replace(/\/+$/, '')),
  providers: z.array(ProviderEntry).min(1),
});

export interface SsoProvider {
  id: string;
  displayName: string;
  issuer: string;
  clientId: string;
  /** Kept out of logs and answers; only the OIDC client sees it. */
  clientSecret: string;
  algorithms: string[];
  scopes: string[];
  refreshTokens: boolean;
  /** SCIM deprovisioning: only the SHA-256 of the provider's bearer token is kept. */
  scim?: ScimSettings;
}

export interface ScimSettings {
  tokenDigest: Buffer;
  subjectFrom: 'externalId' | 'userName';
  matchEmail: boolean;
}

/** A SCIM bearer token is a long random secret; shorter ones are refused at start-up. */
export const SCIM_TOKEN_MIN_LENGTH = 32;

export interface SsoConfig {
  publicUrl: string;
  providers: SsoProvider[];
}

/** A secret from an env var or a file, whichever the entry names; `what` says which secret in errors. */
function readSecret(
  from: { file?: string; env?: string },
  env: Record<string, string | undefined>,
  where: string,
  what: string,
): string {
  let secret: string | undefined;
  if (from.env !== undefined) {
    secret = env[from.env];
    if (secret === undefined || secret === '')
      throw new SealedCacheError('ERR_CONFIG_INVALID', `${where}: env ${from.env} is not set (the ${what})`);
  } else {
    try {
      secret = readFileSync(from.file as string, 'utf8').trim();
    } catch (err) {
      throw new SealedCacheError(
        'ERR_CONFIG_INVALID',
        `${where}: ${what} file ${from.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: err },
      );
    }
    if (secret === '') throw new SealedCacheError('ERR_CONFIG_INVALID', `${where}: ${what} file is empty`);
  }
  return secret;
}

function scimSettings(
  entry: z.infer<typeof ScimEntry>,
  env: Record<string, string | undefined>,
  where: string,
): ScimSettings {
  const token = readSecret({ file: entry.tokenFile, env: entry.tokenEnv }, env, where, 'SCIM token');
  if (token.length < SCIM_TOKEN_MIN_LENGTH)
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `${where}: the SCIM token is shorter than ${SCIM_TOKEN_MIN_LENGTH} characters; make a random one (openssl rand -hex 32)`,
    );
  return {
    tokenDigest: createHash('sha256').update(token).digest(),
    subjectFrom: entry.subjectFrom,
    matchEmail: entry.matchEmail,
  };
}

/** Reads and checks the SSO file; every problem names the file and provider, never a secret. */
export function loadSsoConfig(path: string, env: Record<string, string | undefined>): SsoConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SealedCacheError('ERR_CONFIG_INVALID', `SSO config ${path}: cannot be read as JSON`, { cause: err });
  }
  const parsed = SsoFile.safeParse(json);
  if (!parsed.success)
    throw new SealedCacheError('ERR_CONFIG_INVALID', `SSO config ${path}: ${z.prettifyError(parsed.error)}`);
  const ids = new Set<string>();
  const providers = parsed.data.providers.map((entry) => {
    const where = `SSO config ${path} provider "${entry.id}"`;
    if (ids.has(entry.id)) throw new SealedCacheError('ERR_CONFIG_INVALID', `${where}: the id is used twice`);
    ids.add(entry.id);
    const issuerUrl = new URL(entry.issuer);
    if (issuerUrl.protocol !== 'https:' && !isLoopback(issuerUrl.hostname))
      throw new SealedCacheError('ERR_CONFIG_INVALID', `${where}: the issuer must be https (http only on loopback)`);
    const { clientSecretFile: _file, clientSecretEnv: _env, scim, ...rest } = entry;
    const clientSecret = readSecret(
      { file: entry.clientSecretFile, env: entry.clientSecretEnv },
      env,
      where,
      'client secret',
    );
    return { ...rest, clientSecret, ...(scim === undefined ? {} : { scim: scimSettings(scim, env, where) }) };
  });
  return { publicUrl: parsed.data.publicUrl, providers };
}

export const isLoopback = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
