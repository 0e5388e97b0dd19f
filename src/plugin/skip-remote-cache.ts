/** Whether Nx itself will not use a remote cache for this run, so the hook has nothing to do. */

const SKIP_FLAGS = ['skip-remote-cache', 'skipRemoteCache', 'skip-nx-cache', 'skipNxCache'];
const SKIP_ENV_VARS = ['NX_SKIP_REMOTE_CACHE', 'NX_DISABLE_REMOTE_CACHE', 'NX_SKIP_NX_CACHE', 'NX_DISABLE_NX_CACHE'];

export function isRemoteCacheSkipped(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (SKIP_ENV_VARS.some((name) => env[name] === 'true')) return true;
  return argv.some(isSkipFlag);
}

function isSkipFlag(arg: string): boolean {
  const match = /^--([A-Za-z-]+)(?:=(.*))?$/.exec(arg);
  if (!match || !SKIP_FLAGS.includes(match[1]!)) return false;
  return match[2] === undefined || match[2] === 'true';
}
