/**
 * `nx-sealed-cache login`: checks a personal access token against the server and stores it in the
 * per-user login file. Today the token is pasted (created in the admin page); a browser or
 * device-code approval would be a second `obtainToken` method once the server offers one.
 */
import type { Command } from 'commander';
import { ENV_ACCESS_TOKEN } from '../../client/config';
import { storeCredential } from '../../client/credentials-store';
import { SealedCacheError, isSealedCacheError } from '../../errors';
import type { AccessResponse } from '../../protocol';
import { addServerFlags, describeAccess, fetchAccess, flagsOf, peopleIo, printFailure, reportExit, resolveServerTarget, type CommandHost, type PeopleCliIo, type ServerFlags } from './whoami';

export interface LoginFlags extends ServerFlags {
  tokenStdin?: boolean;
}

const MAX_TOKEN_LENGTH = 4096;

export async function runLogin(flags: LoginFlags, io: PeopleCliIo): Promise<number> {
  try {
    const target = resolveServerTarget(flags, io);
    const token = await obtainToken(flags, io);
    const access = await checkPersonalToken(target.url, target.workspaceId, token);
    const file = storeCredential(target.url, token, { tokenId: access.principal.tokenId, userName: access.principal.user?.name ?? null, expiresAt: access.expiresAt }, io.homeDir, io.env);
    if (io.env[ENV_ACCESS_TOKEN]?.trim()) {
      io.err(`nx-sealed-cache: ${ENV_ACCESS_TOKEN} is set in this shell and wins over the login file; unset it to use this login.`);
    }
    if (flags.json) {
      io.out(JSON.stringify({ url: target.url, credentialsFile: file, ...access }, null, 2));
      return 0;
    }
    io.out(`Logged in to ${target.url}.`);
    for (const line of describeAccess(access)) io.out(line);
    io.out(`saved to:   ${file} (readable only by you)`);
    return 0;
  } catch (err) {
    printFailure(io, flags, err);
    return 1;
  }
}

/** The pasting flow: a piped token, or a prompt that does not echo on a terminal. */
async function obtainToken(flags: LoginFlags, io: PeopleCliIo): Promise<string> {
  const raw = flags.tokenStdin || !io.stdin.isTTY ? await readAll(io.stdin) : await promptHidden(io, 'Paste a personal access token (create one in the admin page): ');
  const token = raw.trim();
  if (!token) throw new SealedCacheError('ERR_INPUT_INVALID', 'no token was given');
  if (token.length > MAX_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    throw new SealedCacheError('ERR_INPUT_INVALID', `that does not look like a token (length ${token.length}, or it has spaces or control characters)`);
  }
  return token;
}

async function checkPersonalToken(url: string, workspaceId: string | undefined, token: string): Promise<AccessResponse> {
  let access: AccessResponse;
  try {
    access = await fetchAccess({ url, workspaceId, token });
  } catch (err) {
    if (isSealedCacheError(err, 'ERR_AUTH_WORKSPACE_REQUIRED') && !workspaceId) {
      throw new SealedCacheError('ERR_AUTH_WORKSPACE_REQUIRED', 'a personal token is not tied to one workspace: pass --workspace <id>, or run login inside a workspace whose nx.json sets "workspaceId"', { cause: err });
    }
    throw err;
  }
  if (access.principal.kind !== 'personal') {
    throw new SealedCacheError(
      'ERR_LOGIN_TOKEN_KIND',
      `this is a ${access.principal.kind} token; login stores personal access tokens. Give CI tokens to CI through ${ENV_ACCESS_TOKEN}. Nothing was saved.`,
    );
  }
  return access;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_TOKEN_LENGTH * 2) throw new SealedCacheError('ERR_INPUT_INVALID', 'stdin is far longer than a token');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Raw mode so the token never appears on screen or in terminal scrollback. */
function promptHidden(io: PeopleCliIo, question: string): Promise<string> {
  const { stdin } = io;
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.err('');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish();
        if (char === '\u0003') return finish(new SealedCacheError('ERR_INPUT_INVALID', 'cancelled'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    process.stderr.write(question);
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

export function registerLoginCommand(program: Command, host?: CommandHost): void {
  addServerFlags(program.command('login').description('store a personal access token for a cache server (per user, outside the repository)'))
    .option('--token-stdin', 'read the token from stdin instead of prompting')
    .action(async (_options: unknown, command: Command) => reportExit(host, await runLogin(flagsOf<LoginFlags>(command), peopleIo(host))));
}
