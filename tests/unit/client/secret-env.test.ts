import {
  forgetRememberedSecrets,
  identitySecretNames,
  scrubSecretEnv,
  withRememberedSecrets,
} from '../../../src/client/secret-env';

/** What Nx 20.8–24 does around preTasksExecution with isolation or the daemon: assignments are forwarded, deletions are not. */
function nxHookEnv(target: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; updates: Record<string, string | undefined> } {
  const updates: Record<string, string | undefined> = {};
  const env = new Proxy(target, {
    set: (t, key: string, value: string) => {
      t[key] = value;
      updates[key] = value;
      return true;
    },
  });
  return { env, updates };
}

describe('scrubbing the secrets from the environment tasks inherit', () => {
  afterEach(() => forgetRememberedSecrets());

  it('deletes the three secrets from a plain environment and leaves the rest alone', () => {
    const env: NodeJS.ProcessEnv = {
      NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_ci_x',
      NX_SEALED_CACHE_ENCRYPTION_KEY: 'nxsk1_y',
      NX_SEALED_CACHE_SIGNING_KEY: 'nxsig1_z',
      NX_SEALED_CACHE_URL: 'https://c',
      PATH: '/bin',
    };
    scrubSecretEnv(env);
    expect(env).toEqual({ NX_SEALED_CACHE_URL: 'https://c', PATH: '/bin' });
  });

  it("forwards a blank for each secret through Nx's hook proxy, even when the worker already lost its copy", () => {
    const main: NodeJS.ProcessEnv = {
      NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_ci_x',
      NX_SEALED_CACHE_ENCRYPTION_KEY: 'nxsk1_y',
      NX_SEALED_CACHE_SIGNING_KEY: 'nxsig1_z',
    };
    const worker: NodeJS.ProcessEnv = {};
    const { env, updates } = nxHookEnv(worker);
    scrubSecretEnv(env);
    expect(updates).toEqual({
      NX_SEALED_CACHE_ACCESS_TOKEN: '',
      NX_SEALED_CACHE_ENCRYPTION_KEY: '',
      NX_SEALED_CACHE_SIGNING_KEY: '',
      ACTIONS_ID_TOKEN_REQUEST_URL: '',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: '',
    });
    for (const [key, value] of Object.entries(updates)) main[key] = value;
    expect(JSON.stringify(main)).not.toMatch(/nxsc_ci_x|nxsk1_y|nxsig1_z/);
    expect(worker).toEqual({});
  });

  it('remembers what it read, per scope, so a second run in the same process still has it', () => {
    const env: NodeJS.ProcessEnv = {
      NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_ci_x',
      NX_SEALED_CACHE_ENCRYPTION_KEY: 'nxsk1_y',
    };
    expect(withRememberedSecrets('/ws', env).NX_SEALED_CACHE_ACCESS_TOKEN).toBe('nxsc_ci_x');
    scrubSecretEnv(env);
    expect(withRememberedSecrets('/ws', env)).toMatchObject({
      NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_ci_x',
      NX_SEALED_CACHE_ENCRYPTION_KEY: 'nxsk1_y',
    });
    expect(withRememberedSecrets('/other', env).NX_SEALED_CACHE_ACCESS_TOKEN).toBeUndefined();
    // A new value replaces the remembered one.
    expect(
      withRememberedSecrets('/ws', { NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_ci_new' }).NX_SEALED_CACHE_ACCESS_TOKEN,
    ).toBe('nxsc_ci_new');
    expect(env).toEqual({});
  });

  it("takes the CI job's identity secrets out too: GitHub's OIDC request pair and the GitLab variable the options name", () => {
    const env: NodeJS.ProcessEnv = {
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://pipelines.example/token',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-secret',
      CACHE_ID_TOKEN: 'eyJhbGciOiJSUzI1NiJ9.x.y',
      GITHUB_ACTIONS: 'true',
    };
    const names = identitySecretNames({ idTokenVariable: 'CACHE_ID_TOKEN' });
    expect(withRememberedSecrets('/ws', env, names).CACHE_ID_TOKEN).toBe('eyJhbGciOiJSUzI1NiJ9.x.y');
    scrubSecretEnv(env, names);
    expect(env).toEqual({ GITHUB_ACTIONS: 'true' });
    expect(withRememberedSecrets('/ws', env, names)).toMatchObject({
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-secret',
      CACHE_ID_TOKEN: 'eyJhbGciOiJSUzI1NiJ9.x.y',
    });
    // A name that is not an environment variable name is not used (options are checked again at resolve time).
    expect(identitySecretNames({ idTokenVariable: 'NOT A NAME' })).toEqual([
      'ACTIONS_ID_TOKEN_REQUEST_URL',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
    ]);
  });
});
