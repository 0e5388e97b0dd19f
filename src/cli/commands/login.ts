/**
 * `nx-sealed-cache login`: gets a personal access token and stores it in the per-user login file.
 * On a terminal (or with --browser) the server issues one after a signed-in user approves the
 * request in the admin page; a pasted token (--token-stdin, --paste, or piped stdin) also works.
 */
import type { Command } from 'commander';
import { ENV_ACCESS_TOKEN } from '../../client/config';
import { storeCredential } from '../../client/credentials-store';
import { SealedCacheError, isSealedCacheError } from '../../errors';
import { AdminApiClient } from '../api-client';
import { type BrowserLoginIo, loginInBrowser } from '../browser-login';
import type { AccessResponse } from '../../protocol';
import { describeAccess, fetchAccess, resolveServerTarget } from '../access-check';
import {
  addServerFlags,
  flagsOf,
  peopleIo,
  printFailure,
  reportExit,
  type CommandHost,
  type PeopleCliIo,
  type ServerFlags,
} from '../people-commands';

export interface LoginFlags extends ServerFlags {
  tokenStdin?: boolean;
  paste?: boolean;
  browser?: boolean;
}

/** The people-commands' io plus what browser login needs; tests inject sleep and hostname. */
export interface LoginIo extends PeopleCliIo, Pick<BrowserLoginIo, 'sleep' | 'hostname'> {}

/** Browser approval when asked for, or by default on a terminal; otherwise the pasted token flow. */
function wantsBrowser(flags: LoginFlags, io: LoginIo): boolean {
  if (flags.tokenStdin || flags.paste) return false;
  return flags.browser === true || io.stdin.isTTY === true;
}

const MAX_TOKEN_LENGTH = 4096;

export async function runLogin(flags: LoginFlags, io: LoginIo): Promise<number> {
  try {
    const target = resolveServerTarget(flags, io);
    if (wantsBrowser(flags, io)) return await runBrowserLogin(flags, io, target.url, target.workspaceId);
    const token = await obtainToken(flags, io);
    const access = await checkPersonalToken(target.url, target.workspaceId, token);
    const file = storeCredential(
      target.url,
      token,
      { tokenId: access.principal.tokenId, userName: access.principal.user?.name ?? null, expiresAt: access.expiresAt },
      io.homeDir,
      io.env,
    );
    if (io.env[ENV_ACCESS_TOKEN]?.trim()) {
      io.err(
        `nx-sealed-cache: ${ENV_ACCESS_TOKEN} is set in this shell and wins over the login file; unset it to use this login.`,
      );
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

async function runBrowserLogin(
  flags: LoginFlags,
  io: LoginIo,
  url: string,
  workspaceId: string | undefined,
): Promise<number> {
  // The token a browser login yields is bound to one workspace, so the request must name it.
  if (!workspaceId) {
    throw new SealedCacheError(
      'ERR_AUTH_WORKSPACE_REQUIRED',
      'browser login gives a token for one workspace: pass --workspace <id>, or run login inside a workspace whose nx.json sets "workspaceId"',
    );
  }
  // Progress goes to stderr so that --json keeps stdout to one document.
  const result = await loginInBrowser(url, workspaceId, {
    out: flags.json ? io.err : io.out,
    sleep: io.sleep,
    hostname: io.hostname,
  });
  const access = await checkPersonalToken(url, result.workspaceId, result.token).catch(async (err: unknown) => {
    // A token that cannot be used is not left alive on the server.
    await new AdminApiClient({ url, token: result.token })
      .call('POST', `/tokens/${encodeURIComponent(result.tokenId)}/revoke`)
      .catch(() => undefined);
    throw err;
  });
  const meta = {
    tokenId: result.tokenId,
    userName: result.userName,
    expiresAt: access.expiresAt,
    workspaceId: result.workspaceId,
  };
  const file = storeCredential(url, result.token, meta, io.homeDir, io.env);
  if (io.env[ENV_ACCESS_TOKEN]?.trim()) {
    io.err(
      `nx-sealed-cache: ${ENV_ACCESS_TOKEN} is set in this shell and wins over the login file; unset it to use this login.`,
    );
  }
  if (flags.json) {
    io.out(
      JSON.stringify(
        { url, credentialsFile: file, tokenId: result.tokenId, user: result.userName, ...access },
        null,
        2,
      ),
    );
    return 0;
  }
  io.out(`Logged in to ${url} as ${result.userName}.`);
  for (const line of describeAccess(access)) io.out(line);
  io.out(`saved to:   ${file} (readable only by you)`);
  return 0;
}

/** A secret from piped stdin, or typed at a prompt that does not echo on a terminal (tokens, passwords). */
export async function readSecretInput(
  io: Pick<PeopleCliIo, 'stdin' | 'err'>,
  question: string,
  fromStdin = false,
): Promise<string> {
  const raw = fromStdin || !io.stdin.isTTY ? await readAll(io.stdin) : await promptHidden(io, question);
  return raw.replace(/\r?\n$/, '');
}

/** The pasting flow: a piped token, or a prompt that does not echo on a terminal. */
async function obtainToken(flags: LoginFlags, io: PeopleCliIo): Promise<string> {
  const raw =
    flags.tokenStdin || !io.stdin.isTTY
      ? await readAll(io.stdin)
      : await promptHidden(io, 'Paste a personal access token (create one in the admin page): ');
  const token = raw.trim();
  if (!token) {
    // Without a terminal login reads a pasted token from stdin; say how to get the browser flow instead.
    const how = io.stdin.isTTY
      ? ''
      : ' on stdin (not a terminal): pipe a token in, or pass --browser to approve the login in the admin page';
    throw new SealedCacheError('ERR_INPUT_INVALID', `no token was given${how}`);
  }
  if (token.length > MAX_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `that does not look like a token (length ${token.length}, or it has spaces or control characters)`,
    );
  }
  return token;
}

async function checkPersonalToken(
  url: string,
  workspaceId: string | undefined,
  token: string,
): Promise<AccessResponse> {
  let access: AccessResponse;
  try {
    access = await fetchAccess({ url, workspaceId, token });
  } catch (err) {
    if (isSealedCacheError(err, 'ERR_AUTH_WORKSPACE_REQUIRED') && !workspaceId) {
      throw new SealedCacheError(
        'ERR_AUTH_WORKSPACE_REQUIRED',
        'a personal token is not tied to one workspace: pass --workspace <id>, or run login inside a workspace whose nx.json sets "workspaceId"',
        { cause: err },
      );
    }
    if (isSealedCacheError(err, 'ERR_AUTH_NOT_MEMBER') || isSealedCacheError(err, 'ERR_AUTH_READ_DENIED')) {
      throw new SealedCacheError(err.code, `${noAccessText(workspaceId)} Nothing was saved.`, { cause: err });
    }
    throw err;
  }
  if (!access.access.read) {
    throw new SealedCacheError('ERR_AUTH_READ_DENIED', `${noAccessText(workspaceId)} Nothing was saved.`);
  }
  if (access.principal.kind !== 'personal') {
    throw new SealedCacheError(
      'ERR_LOGIN_TOKEN_KIND',
      `this is a ${access.principal.kind} token; login stores personal access tokens. Give CI tokens to CI through ${ENV_ACCESS_TOKEN}. Nothing was saved.`,
    );
  }
  return access;
}

/** What to do when the login worked but its user may not use the workspace's cache. */
export function noAccessText(workspaceId: string | undefined): string {
  return `the login worked, but its user has no access to workspace ${workspaceId ?? '(none named)'}: an admin of its organisation adds them (\`nx-sealed-cache member add --org <org> --user <name>\`, or the Members page); a server administrator who created the organisation is already its admin.`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_TOKEN_LENGTH * 2)
      throw new SealedCacheError('ERR_INPUT_INVALID', 'stdin is far longer than a token');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Raw mode so the token never appears on screen or in terminal scrollback. */
function promptHidden(io: Pick<PeopleCliIo, 'stdin' | 'err'>, question: string): Promise<string> {
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
  addServerFlags(
    program
      .command('login')
      .description('store a personal access token for a cache server (per user, outside the repository)'),
  )
    .option('--token-stdin', 'read a pasted token from stdin')
    .option('--paste', 'paste a token at a hidden prompt instead of approving in the browser')
    .option('--browser', 'approve the login in the admin page (the default on a terminal)')
    .action(async (_options: unknown, command: Command) =>
      reportExit(host, await runLogin(flagsOf<LoginFlags>(command), peopleIo(host))),
    );
}
