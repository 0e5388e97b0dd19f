/**
 * The one door from the CLI to the server's code. The nx-sealed-cache package ships without the server, so a
 * workspace that only uses the plugin installs none of the server's dependencies. Server commands then run
 * from this copy when the server is here (a clone, the Docker image, nx-sealed-cache-server), else from an
 * installed nx-sealed-cache-server, else they fail with ERR_SERVER_NOT_INSTALLED naming the package.
 */
import { SealedCacheError } from '../errors';
import { packageVersion } from '../version';
import type { CliIo } from './cli-io';

export const SERVER_PACKAGE = 'nx-sealed-cache-server';

/** Top-level commands that need the server's code; `user set-password --data-dir` too. */
export const SERVER_COMMANDS: Record<string, string> = {
  serve: 'run the cache server',
  admin: 'the first administrator and a lost admin token, on the server machine',
  backup: 'a verified copy of a serving server in a new folder',
  storage: "move the blobs between the data dir's folder and an S3-compatible bucket",
};

export type ServerCommands = typeof import('./server-commands');

interface ServerCli {
  runCli(argv: string[], io: CliIo): Promise<number>;
}

/** The server commands of this copy, or undefined in the nx-sealed-cache package, which does not ship them. */
export function localServerCommands(): ServerCommands | undefined {
  try {
    // A require, not an import: its absence is an answer here, not an error at load time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./server-commands') as ServerCommands;
  } catch (err) {
    if (isMissing(err, "'./server-commands'")) return undefined;
    throw err;
  }
}

/** The CLI of an installed nx-sealed-cache-server, found from the current folder or from this package. */
export function installedServerCli(paths = [process.cwd(), __dirname]): ServerCli | undefined {
  let entry: string;
  try {
    entry = require.resolve(`${SERVER_PACKAGE}/dist/src/cli/run-cli.js`, { paths });
  } catch {
    return undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(entry) as ServerCli;
}

/** The server command `argv` asks for (after the global options), if any. */
export function serverCommandOf(argv: string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--url' || arg === '--token') i++;
    else if (!arg.startsWith('-')) words.push(arg);
  }
  const [command, sub] = words;
  if (command !== undefined && command in SERVER_COMMANDS) return command;
  const offline = argv.some((arg) => arg === '--data-dir' || arg.startsWith('--data-dir='));
  return command === 'user' && sub === 'set-password' && offline ? 'user set-password --data-dir' : undefined;
}

export function serverNotInstalled(command: string): SealedCacheError {
  return new SealedCacheError(
    'ERR_SERVER_NOT_INSTALLED',
    `\`nx-sealed-cache ${command}\` needs the server, which is a package of its own: npm install ${SERVER_PACKAGE}@${packageVersion()} ` +
      '(or run the server from a clone with `npm ci && npm start`, or from the Docker image; docs/operations.md)',
  );
}

/** Only the module itself missing, not one it imports (its require stack names it too, on later lines). */
function isMissing(err: unknown, quotedName: string): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'MODULE_NOT_FOUND' && err instanceof Error && (err.message.split('\n')[0] ?? '').includes(quotedName);
}
