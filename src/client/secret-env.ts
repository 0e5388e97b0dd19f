/**
 * Takes the real token, sealing key and signing key out of an environment once they have been read, so the
 * processes Nx forks for tasks (which copy Nx's process.env) never inherit them.
 */
import { CI_IDENTITY_ENV_VARS, ID_TOKEN_VARIABLE_PATTERN } from './ci-identity-env';
import { ENV_ACCESS_TOKEN, ENV_ENCRYPTION_KEY, ENV_SIGNING_KEY } from './env-names';

export const SECRET_ENV_VARS = [ENV_ACCESS_TOKEN, ENV_ENCRYPTION_KEY, ENV_SIGNING_KEY] as const;

type SecretEnv = Record<string, string>;

/**
 * The CI job's identity secrets as well: GitHub's OIDC request URL and token, and the GitLab variable the
 * options name (`idTokenVariable`), which would let a task obtain the job's identity.
 */
export function identitySecretNames(options: unknown): string[] {
  const variable =
    typeof options === 'object' && options !== null ? (options as Record<string, unknown>).idTokenVariable : undefined;
  const named = typeof variable === 'string' && ID_TOKEN_VARIABLE_PATTERN.test(variable) ? [variable] : [];
  return [...CI_IDENTITY_ENV_VARS, ...named];
}

/** Per process and workspace: a plugin worker or a runner that is called twice still has what it read. */
const remembered = new Map<string, SecretEnv>();

/**
 * Returns `env` with the secrets this process already took out put back (in a copy), and remembers
 * the ones it holds now. Non-empty values in `env` always win: a new value replaces an old one.
 */
export function withRememberedSecrets(
  scope: string,
  env: NodeJS.ProcessEnv,
  identityNames: readonly string[] = CI_IDENTITY_ENV_VARS,
): NodeJS.ProcessEnv {
  const held: SecretEnv = { ...remembered.get(scope) };
  for (const name of [...SECRET_ENV_VARS, ...identityNames]) {
    const value = env[name]?.trim();
    if (value) held[name] = value;
  }
  remembered.set(scope, held);
  return { ...env, ...held };
}

/**
 * Blanks, then deletes, each secret. Nx (20.8–24) runs hooks under a process.env proxy that forwards
 * assignments to its main process but not deletions, so the blank is what reaches the tasks there;
 * without isolation or daemon the delete removes the variable outright. The blank is assigned even
 * when this process no longer has the variable: a daemon's plugin worker scrubbed its own copy on an
 * earlier run, while the new Nx process it answers still holds the secret.
 */
export function scrubSecretEnv(env: NodeJS.ProcessEnv, identityNames: readonly string[] = CI_IDENTITY_ENV_VARS): void {
  for (const name of [...SECRET_ENV_VARS, ...identityNames]) {
    env[name] = '';
    delete env[name];
  }
}

/** Tests only: forget what this process read. */
export function forgetRememberedSecrets(): void {
  remembered.clear();
}
