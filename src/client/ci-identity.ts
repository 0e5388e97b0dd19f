/**
 * CI identity on the client: on GitHub Actions (with `id-token: write`) ask the runner for this job's OIDC
 * token; on GitLab read the JWT from the variable the options name; exchange it at the cache server for a
 * short-lived cache token, kept in this process's memory only. Nothing here fails a run: without an
 * identity token, or when the server refuses it, the run goes on with the workspace's anonymous level and
 * the summary says why.
 */
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { SealedCacheError, isSealedCacheError } from '../errors';
import { ErrorBody } from '../protocol';
import { readCapped } from './cache-server-client';
import type { ClientConfig } from './config';

import { ENV_GITHUB_REQUEST_TOKEN, ENV_GITHUB_REQUEST_URL } from './ci-identity-env';

export {
  CI_IDENTITY_ENV_VARS,
  ENV_GITHUB_REQUEST_TOKEN,
  ENV_GITHUB_REQUEST_URL,
  ID_TOKEN_VARIABLE_PATTERN,
} from './ci-identity-env';

const MAX_ANSWER_BYTES = 64 * 1024;
/** Refresh an exchanged token this long before it expires (a proxy serves many runs). */
const REFRESH_MARGIN_MS = 5 * 60_000;

export interface CiIdentityOptions {
  /** false: never exchange, even on CI. */
  ciIdentity?: boolean;
  /** GitLab: the `id_tokens:` variable that holds the job's JWT. */
  idTokenVariable?: string;
  /** The audience to ask for (GitHub) and that the policy requires; default the server's origin. */
  idTokenAudience?: string;
}

export interface CiIdentityState {
  provider: string;
  /** `<repo>@<ref>`, from the claims the server verified. */
  summary?: string;
  outcome?: string;
  access?: string;
  /** Why the run has no CI identity (shown in the summary). */
  failure?: string;
  /**
   * With a failure of the exchange itself: its stable code, the server's own for a refusal
   * (`ERR_CI_IDENTITY_AUDIENCE`, …); absent when the job offered no identity token at all.
   */
  failureCode?: string;
}

type Source =
  | { provider: 'GitHub Actions'; requestUrl: string; requestToken: string }
  | { provider: 'GitLab CI'; jwt: string; variable: string };

/** The job's identity token source, or why there is none; undefined when this is not a CI job we know. */
export function detectIdentitySource(
  env: Record<string, string | undefined>,
  options: CiIdentityOptions,
): Source | { provider: string; missing: string } | undefined {
  if (options.ciIdentity === false) return undefined;
  if (env.GITHUB_ACTIONS === 'true' || env[ENV_GITHUB_REQUEST_URL]) {
    const requestUrl = env[ENV_GITHUB_REQUEST_URL]?.trim();
    const requestToken = env[ENV_GITHUB_REQUEST_TOKEN]?.trim();
    if (!requestUrl || !requestToken)
      return {
        provider: 'GitHub Actions',
        missing: 'no OIDC token offered (the job lacks `permissions: id-token: write`, or runs for a fork)',
      };
    return { provider: 'GitHub Actions', requestUrl, requestToken };
  }
  if (env.GITLAB_CI === 'true') {
    const variable = options.idTokenVariable;
    if (variable === undefined) return undefined;
    const jwt = env[variable]?.trim();
    if (!jwt)
      return {
        provider: 'GitLab CI',
        missing: `no identity token in ${variable} (add it under id_tokens: in .gitlab-ci.yml)`,
      };
    return { provider: 'GitLab CI', jwt, variable };
  }
  return undefined;
}

async function readJson(body: Readable): Promise<unknown> {
  return JSON.parse(await readCapped(body, MAX_ANSWER_BYTES)) as unknown;
}

async function githubIdToken(
  source: Extract<Source, { provider: 'GitHub Actions' }>,
  audience: string,
  timeoutMs: number,
): Promise<string> {
  const url = new URL(source.requestUrl);
  url.searchParams.set('audience', audience);
  try {
    const res = await request(url, {
      headers: { authorization: `Bearer ${source.requestToken}`, accept: 'application/json' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`the runner answered ${res.statusCode}`);
    }
    const value = (await readJson(res.body)) as { value?: unknown };
    if (typeof value.value !== 'string' || value.value === '') throw new Error('the runner sent no token');
    return value.value;
  } catch (cause) {
    throw new SealedCacheError(
      'ERR_CI_IDENTITY_UNAVAILABLE',
      `could not get the job's OIDC token from GitHub Actions (${cause instanceof Error ? cause.message : 'error'})`,
      { cause },
    );
  }
}

/** A refusal, carrying the server's code beside ours (doctor picks its fix by it). */
class ExchangeRefused extends SealedCacheError {
  constructor(
    readonly serverCode: string,
    message: string,
  ) {
    super('ERR_CI_IDENTITY_REFUSED', message);
  }
}

export interface ExchangeAnswer {
  token: string;
  expiresAt: string | null;
  access: string | null;
  identity: { provider: string; summary: string; outcome: string };
}

async function exchange(config: ClientConfig, jwt: string): Promise<ExchangeAnswer> {
  const url = `${config.url}/api/v1/ci-identity/exchange`;
  let status: number;
  let json: unknown;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ workspaceId: config.workspaceId, token: jwt }),
      headersTimeout: config.timeouts.requestMs,
      bodyTimeout: config.timeouts.requestMs,
    });
    status = res.statusCode;
    json = await readJson(res.body).catch(() => undefined);
  } catch (cause) {
    throw new SealedCacheError('ERR_CLIENT_UNREACHABLE', `the token exchange at ${config.url} failed`, { cause });
  }
  if (status !== 201) {
    const body = ErrorBody.safeParse(json);
    const code = body.success ? body.data.error.code : `HTTP ${status}`;
    const message = body.success ? body.data.error.message.replace(/\s+/g, ' ').slice(0, 300) : 'unexpected answer';
    throw new ExchangeRefused(
      body.success ? code : 'ERR_CI_IDENTITY_REFUSED',
      `the server refused the identity token: ${message} [${code}]`,
    );
  }
  const answer = json as Partial<ExchangeAnswer>;
  if (typeof answer.token !== 'string' || typeof answer.identity?.summary !== 'string')
    throw new SealedCacheError('ERR_CLIENT_BAD_RESPONSE', 'the token exchange answered without a token');
  return answer as ExchangeAnswer;
}

/** Per process: the proxy serves many runs of one job with one exchange (a GitLab JWT can be spent once). */
const exchanged = new Map<string, { answer: ExchangeAnswer; expiresAtMs: number }>();

/**
 * The config this run uses: with an exchanged cache token when this is a CI job with an identity token,
 * no other credential was given, and the workspace is named; else unchanged, with the reason recorded.
 */
export async function applyCiIdentity(
  config: ClientConfig,
  env: Record<string, string | undefined>,
  now: () => number = Date.now,
): Promise<ClientConfig> {
  if (config.credential.source !== 'none') return config;
  const options = config.ciIdentityOptions ?? {};
  const source = detectIdentitySource(env, options);
  if (source === undefined) return config;
  const fallback = (failure: string, failureCode?: string): ClientConfig => ({
    ...config,
    identity: { provider: source.provider, failure, ...(failureCode === undefined ? {} : { failureCode }) },
  });
  if ('missing' in source) return fallback(source.missing);
  if (config.workspaceId === undefined)
    return fallback('no workspaceId in the nx.json options to exchange the identity token for');
  const audience = options.idTokenAudience ?? new URL(config.url).origin;
  const key = JSON.stringify([
    config.url,
    config.workspaceId,
    source.provider === 'GitLab CI' ? source.jwt : source.requestToken,
  ]);
  const held = exchanged.get(key);
  try {
    let answer = held !== undefined && held.expiresAtMs - now() > REFRESH_MARGIN_MS ? held.answer : undefined;
    if (answer === undefined) {
      const jwt =
        source.provider === 'GitLab CI' ? source.jwt : await githubIdToken(source, audience, config.timeouts.requestMs);
      answer = await exchange(config, jwt);
      exchanged.set(key, { answer, expiresAtMs: answer.expiresAt === null ? Infinity : Date.parse(answer.expiresAt) });
    }
    return {
      ...config,
      credential: { token: answer.token, source: 'ci-identity' },
      identity: {
        provider: source.provider,
        summary: answer.identity.summary,
        outcome: answer.identity.outcome,
        access: answer.access ?? undefined,
      },
    };
  } catch (err) {
    if (!isSealedCacheError(err)) return fallback('the identity token could not be exchanged', 'ERR_INTERNAL');
    return fallback(err.message, err instanceof ExchangeRefused ? err.serverCode : err.code);
  }
}

/** `identity: GitHub Actions, o/r@refs/heads/main (trusted, read-write)`, or why there is none. */
export function describeIdentity(identity: CiIdentityState): string {
  return `identity: ${identityText(identity)}`;
}

/** The same without its label, for `whoami` and `doctor`, which align their own. */
export function identityText(identity: CiIdentityState): string {
  if (identity.failure !== undefined) return `${identity.provider}, none (${identity.failure})`;
  return `${identity.provider}, ${identity.summary} (${identity.outcome}, ${identity.access})`;
}

/** Tests only. */
export function forgetExchangedTokens(): void {
  exchanged.clear();
}
