/** The real `nx-sealed-cache login --browser`, started as a developer would, and the credential it stores. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_ENTRY } from './paths';
import { spawnTracked } from './processes';

export interface CliLogin {
  code: string;
  output: () => string;
  exited: Promise<number | null>;
  home: string;
}

/** Starts the real `login --browser` with `home` as HOME and resolves once it printed the user code. */
export async function startCliLogin(serverUrl: string, workspaceId: string, home: string): Promise<CliLogin> {
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NX_SEALED_CACHE_ACCESS_TOKEN: '' };
  const child = spawnTracked(
    process.execPath,
    [CLI_ENTRY, 'login', '--url', serverUrl, '--workspace', workspaceId, '--browser'],
    { cwd: home, env },
  );
  child.stdin?.end();
  let output = '';
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const code = await new Promise<string>((resolveCode, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /^\s+([A-Z]{4}-[A-Z]{4})$/m.exec(output);
      if (match?.[1]) resolveCode(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => reject(new Error(`login exited before printing a code:\n${output}`)));
  });
  return { code, output: () => output, exited, home };
}

/** The credential `login` stored under `home` for the workspace. */
export function storedToken(
  home: string,
  serverUrl: string,
  workspaceId: string,
): { token: string; tokenId?: string; workspaceId?: string } {
  const file = JSON.parse(readFileSync(join(home, '.config', 'nx-sealed-cache', 'credentials.json'), 'utf8'));
  return file.servers[`${serverUrl}/w/${workspaceId}`];
}
