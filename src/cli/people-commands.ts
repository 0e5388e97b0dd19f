/** The small helpers the people-facing commands (login, logout, whoami, doctor) share: their io, flags and exit. */
import type { Command } from 'commander';
import { ENV_URL } from '../client/config';
import { isSealedCacheError } from '../errors';
import type { CliIo } from './cli-io';
/** Everything a people-facing command touches outside itself, so tests can hand in their own. */
export interface PeopleCliIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
  homeDir?: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  out(line: string): void;
  err(line: string): void;
}

/** What the main CLI's CommandContext offers; structural, so these commands also run without it. */
export interface CommandHost {
  readonly io: CliIo;
  exitCode: number;
}

/** The host's output and env, plus the process's stdin and cwd, which login and doctor need. */
export function peopleIo(host?: CommandHost): PeopleCliIo {
  const write = (sink: ((text: string) => void) | undefined, stream: NodeJS.WriteStream) => (line: string) =>
    sink ? sink(`${line}\n`) : stream.write(`${line}\n`);
  return {
    env: (host?.io.env as NodeJS.ProcessEnv | undefined) ?? process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    out: write(host?.io.stdout.bind(host.io), process.stdout),
    err: write(host?.io.stderr.bind(host.io), process.stderr),
  };
}

/** Our flags merged with the program's global `--url` / `--json`, which commander gives the root. */
export function flagsOf<T extends ServerFlags>(command: Command): T {
  return command.optsWithGlobals<T>();
}

export function reportExit(host: CommandHost | undefined, code: number): void {
  if (host) host.exitCode = code === 0 ? host.exitCode : code;
  else process.exitCode = code;
}

/** The main CLI's error shape: `error CODE: message` on stderr, or an ErrorBody on stdout with --json. */
/** `also`: more for the JSON answer beside the error (what was found out before it). */
export function printFailure(io: PeopleCliIo, flags: ServerFlags, err: unknown, also: object = {}): void {
  const code = isSealedCacheError(err) ? err.code : 'ERR_INTERNAL';
  const message = isSealedCacheError(err) ? err.message : err instanceof Error ? err.message : String(err);
  if (flags.json) io.out(JSON.stringify({ error: { code, message }, ...also }));
  else io.err(`error ${code}: ${message}`);
}

export interface ServerFlags {
  url?: string;
  workspace?: string;
  json?: boolean;
}

/** One line for any failure: our code when we have one, never a stack or a secret. */
export function describeFailure(err: unknown): string {
  if (isSealedCacheError(err)) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.message : String(err);
}

export function addServerFlags(command: Command): Command {
  return command
    .option('--url <url>', `cache server URL (default: ${ENV_URL}, then nx.json)`)
    .option('--workspace <id>', 'workspace id (default: nx.json workspaceId)')
    .option('--json', 'print JSON');
}
