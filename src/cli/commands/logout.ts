/** `nx-sealed-cache logout`: forgets the stored personal token for one server. */
import type { Command } from 'commander';
import { removeStoredCredential } from '../../client/credentials-store';
import { resolveServerTarget } from '../access-check';
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

export async function runLogout(flags: ServerFlags, io: PeopleCliIo): Promise<number> {
  try {
    const { url } = resolveServerTarget(flags, io);
    const removed = removeStoredCredential(url, io.homeDir, io.env);
    if (flags.json) {
      io.out(JSON.stringify({ url, removed }));
      return 0;
    }
    io.out(
      removed
        ? `Logged out of ${url}. The token still works until it expires or is revoked in the admin page.`
        : `No stored login for ${url}; nothing to do.`,
    );
    return 0;
  } catch (err) {
    printFailure(io, flags, err);
    return 1;
  }
}

export function registerLogoutCommand(program: Command, host?: CommandHost): void {
  addServerFlags(
    program.command('logout').description('remove the stored personal access token for a cache server'),
  ).action(async (_options: unknown, command: Command) =>
    reportExit(host, await runLogout(flagsOf(command), peopleIo(host))),
  );
}
