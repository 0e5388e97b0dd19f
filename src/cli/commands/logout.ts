/** `nx-sealed-cache logout`: revokes the stored personal tokens for one server on the server, then forgets them. */
import type { Command } from 'commander';
import { listStoredCredentials, removeStoredCredential, type StoredCredential } from '../../client/credentials-store';
import { isSealedCacheError, SealedCacheError } from '../../errors';
import { resolveServerTarget } from '../access-check';
import { AdminApiClient } from '../api-client';
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

/** Answers that mean the token is already dead, so there is nothing left to revoke. */
const ALREADY_DEAD = [
  'ERR_TOKEN_INACTIVE',
  'ERR_AUTH_TOKEN_REVOKED',
  'ERR_AUTH_TOKEN_EXPIRED',
  'ERR_AUTH_TOKEN_INVALID',
];

/** Revokes one stored token with itself; undefined when it is dead now, else why it could not be. */
async function revokeStored(url: string, credential: StoredCredential): Promise<SealedCacheError | undefined> {
  if (!credential.tokenId)
    return new SealedCacheError('ERR_TOKEN_NOT_FOUND', 'the login file does not say which token this is');
  try {
    await new AdminApiClient({ url, token: credential.token }).call(
      'POST',
      `/tokens/${encodeURIComponent(credential.tokenId)}/revoke`,
    );
    return undefined;
  } catch (err) {
    if (!isSealedCacheError(err)) return new SealedCacheError('ERR_INTERNAL', String(err));
    return ALREADY_DEAD.includes(err.code) ? undefined : err;
  }
}

export async function runLogout(flags: ServerFlags, io: PeopleCliIo): Promise<number> {
  try {
    const { url } = resolveServerTarget(flags, io);
    const stored = listStoredCredentials(url, io.homeDir, io.env);
    const failures: { tokenId: string | null; error: SealedCacheError }[] = [];
    for (const credential of stored) {
      const error = await revokeStored(url, credential);
      if (error !== undefined) failures.push({ tokenId: credential.tokenId ?? null, error });
    }
    const removed = removeStoredCredential(url, io.homeDir, io.env);
    if (flags.json) {
      const notRevoked = failures.map((f) => ({ tokenId: f.tokenId, code: f.error.code, message: f.error.message }));
      io.out(JSON.stringify({ url, removed, revoked: stored.length - failures.length, notRevoked }));
      return failures.length === 0 ? 0 : 1;
    }
    if (!removed) {
      io.out(`No stored login for ${url}; nothing to do.`);
      return 0;
    }
    if (failures.length === 0) {
      io.out(`Logged out of ${url}; the token was revoked on the server.`);
      return 0;
    }
    for (const failure of failures) {
      printFailure(
        io,
        flags,
        new SealedCacheError(
          failure.error.code,
          `removed the login from this machine, but could not revoke token ${failure.tokenId ?? '(unknown id)'} on the server (${failure.error.message}); it works until it expires: revoke it on the admin page's Tokens page`,
        ),
      );
    }
    return 1;
  } catch (err) {
    printFailure(io, flags, err);
    return 1;
  }
}

export function registerLogoutCommand(program: Command, host?: CommandHost): void {
  addServerFlags(
    program
      .command('logout')
      .description('revoke the stored personal access token on the server and remove it from this machine'),
  ).action(async (_options: unknown, command: Command) =>
    reportExit(host, await runLogout(flagsOf(command), peopleIo(host))),
  );
}
