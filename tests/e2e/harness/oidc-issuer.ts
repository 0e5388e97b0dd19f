/**
 * A local OIDC issuer on loopback for tests: keys generated at start, a JWKS endpoint (GitHub's and
 * GitLab's paths), GitHub- and GitLab-shaped tokens, GitHub's per-job token request endpoint
 * (ACTIONS_ID_TOKEN_REQUEST_URL), and the hostile forms (alg none, HS256 keyed with the public key,
 * unknown kid) a verifier must refuse.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type KeyLike, SignJWT } from 'jose';

export type Claims = Record<string, string | number | boolean>;

export interface MintOptions {
  audience: string;
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number;
  /** Seconds from now for iat (default 0). */
  issuedAt?: number;
  jti?: string;
  /** Sign with a key the JWKS does not publish. */
  unknownKid?: boolean;
  issuer?: string;
}

export interface GithubJob {
  repository: string;
  repositoryId: number;
  ownerId: number;
  ref: string;
  event: string;
  runId?: number;
  actor?: string;
}

export interface OidcIssuer {
  url: string;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  jwks(): { keys: JWK[] };
  mint(claims: Claims, options: MintOptions): Promise<string>;
  github(job: GithubJob, options: MintOptions): Promise<string>;
  gitlab(
    job: { projectPath: string; projectId: number; ref: string; protected: boolean; source?: string },
    options: MintOptions,
  ): Promise<string>;
  algNone(claims: Claims, options: MintOptions): string;
  hs256WithPublicKey(claims: Claims, options: MintOptions): Promise<string>;
  /**
   * What GitHub's token request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) answers from now on, for the audience
   * asked; returns the new job's request token (ACTIONS_ID_TOKEN_REQUEST_TOKEN), as each GitHub job has its own.
   */
  serve(answer: (audience: string) => Promise<string> | string): string;
  serveGithubJob(job: GithubJob, options?: Omit<MintOptions, 'audience'>): string;
  requestUrl: string;
  /** The variables a GitHub Actions job with `id-token: write` has, for the job served last. */
  githubEnv(requestToken: string): Record<string, string>;
  stop(): Promise<void>;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The jobs most tests need: a push to main of acme/mono (repository 101, owner 9), and its pull request 12. */
export const MAIN_PUSH: GithubJob = {
  repository: 'acme/mono',
  repositoryId: 101,
  ownerId: 9,
  ref: 'refs/heads/main',
  event: 'push',
};
export const PULL_REQUEST: GithubJob = { ...MAIN_PUSH, ref: 'refs/pull/12/merge', event: 'pull_request' };

export function githubClaims(job: GithubJob): Claims {
  const [owner] = job.repository.split('/');
  return {
    sub: `repo:${job.repository}:ref:${job.ref}`,
    repository: job.repository,
    repository_id: String(job.repositoryId),
    repository_owner: owner,
    repository_owner_id: String(job.ownerId),
    ref: job.ref,
    ref_type: job.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    event_name: job.event,
    run_id: String(job.runId ?? 4242),
    run_attempt: '1',
    actor: job.actor ?? 'octocat',
    sha: 'f'.repeat(40),
    workflow_ref: `${job.repository}/.github/workflows/ci.yml@${job.ref}`,
    ...(job.ref.startsWith('refs/pull/') ? { head_ref: 'feature/x', base_ref: 'main' } : {}),
  };
}

/** `now`: the clock tokens are minted by (unit tests move the server's clock; e2e uses the real one). */
export async function startOidcIssuer(now: () => number = Date.now): Promise<OidcIssuer> {
  const signing = await generateKeyPair('RS256');
  // A key the JWKS never publishes (EC: quick to generate).
  const stranger = await generateKeyPair('ES256');
  const kid = `test-${randomUUID().slice(0, 8)}`;
  const publicJwk = { ...(await exportJWK(signing.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const publicPem = await exportSPKI(signing.publicKey);
  let requestToken = '';
  let answer: ((audience: string) => Promise<string> | string) | undefined;
  let fetches = 0;
  let url = '';

  const sign = async (
    claims: Claims,
    options: MintOptions,
    key: KeyLike,
    keyId: string,
    alg = 'RS256',
  ): Promise<string> => {
    const seconds = Math.floor(now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid: keyId, typ: 'JWT' })
      .setIssuer(options.issuer ?? url)
      .setAudience(options.audience)
      .setIssuedAt(seconds + (options.issuedAt ?? 0))
      .setNotBefore(seconds + (options.issuedAt ?? 0) - 5)
      .setExpirationTime(seconds + (options.expiresIn ?? 300))
      .setJti(options.jti ?? randomUUID())
      .sign(key);
  };
  const fullClaims = (claims: Claims, options: MintOptions): Claims => {
    const seconds = Math.floor(now() / 1000);
    return {
      ...claims,
      iss: options.issuer ?? url,
      aud: options.audience,
      iat: seconds,
      exp: seconds + (options.expiresIn ?? 300),
      jti: options.jti ?? randomUUID(),
    };
  };

  const mint = (claims: Claims, options: MintOptions): Promise<string> =>
    options.unknownKid
      ? sign(claims, options, stranger.privateKey, 'not-published', 'ES256')
      : sign(claims, options, signing.privateKey, kid);

  const serve = (next: (audience: string) => Promise<string> | string): string => {
    answer = next;
    requestToken = `request-${randomUUID()}`;
    return requestToken;
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/.well-known/jwks' || path === '/oauth/discovery/keys') {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    if (path === '/github/token') {
      const audience = new URL(req.url ?? '/', url).searchParams.get('audience');
      if (!requestToken || req.headers.authorization !== `Bearer ${requestToken}` || !answer || !audience) {
        res.writeHead(403).end();
        return;
      }
      Promise.resolve(answer(audience))
        .then((value) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value })))
        .catch(() => res.writeHead(500).end());
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requestUrl: `${url}/github/token?api-version=2.0`,
    githubEnv: (token) => ({
      GITHUB_ACTIONS: 'true',
      ACTIONS_ID_TOKEN_REQUEST_URL: `${url}/github/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: token,
    }),
    jwksFetches: () => fetches,
    jwks: () => ({ keys: [publicJwk] }),
    mint,
    github: (j, options) => mint(githubClaims(j), options),
    gitlab: (j, options) =>
      mint(
        {
          sub: `project_path:${j.projectPath}:ref_type:branch:ref:${j.ref}`,
          project_path: j.projectPath,
          project_id: String(j.projectId),
          namespace_id: '77',
          ref: j.ref,
          ref_type: 'branch',
          ref_protected: String(j.protected),
          pipeline_source: j.source ?? 'push',
          pipeline_id: '9001',
          job_id: '9002',
          user_login: 'gitlab-user',
          sha: 'e'.repeat(40),
        },
        options,
      ),
    algNone: (claims, options) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(fullClaims(claims, options))}.`,
    hs256WithPublicKey: (claims, options) =>
      new SignJWT(fullClaims(claims, options))
        .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
        .sign(new TextEncoder().encode(publicPem)),
    serve,
    serveGithubJob: (job, options = {}) => serve((audience) => mint(githubClaims(job), { ...options, audience })),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
