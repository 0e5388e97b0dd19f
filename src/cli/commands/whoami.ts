/** `nx-sealed-cache whoami`: who this machine is to the cache server, for which workspace, with what access, and where the credential came from. */
import type { Command } from 'commander';
import {
  CREDENTIAL_SOURCE_TEXT,
  describeAccess,
  fetchAccess,
  resolveRunConfig,
  resolveServerTarget,
} from '../access-check';
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

export async function runWhoami(flags: ServerFlags, io: PeopleCliIo): Promise<number> {
  try {
    const config = resolveRunConfig(resolveServerTarget(flags, io), io);
    const access = await fetchAccess({
      url: config.url,
      workspaceId: config.workspaceId,
      token: config.credential.token,
      timeoutMs: config.timeouts.requestMs,
    });
    for (const warning of config.warnings) io.err(warning);
    if (flags.json) {
      io.out(JSON.stringify({ url: config.url, credentialSource: config.credential.source, ...access }, null, 2));
      return 0;
    }
    io.out(`server:     ${config.url}`);
    for (const line of describeAccess(access)) io.out(line);
    io.out(`credential: ${CREDENTIAL_SOURCE_TEXT[config.credential.source]}`);
    return 0;
  } catch (err) {
    printFailure(io, flags, err);
    return 1;
  }
}

export function registerWhoamiCommand(program: Command, host?: CommandHost): void {
  addServerFlags(
    program
      .command('whoami')
      .description('show who you are to the cache server, for which workspace, and with what access'),
  ).action(async (_options: unknown, command: Command) =>
    reportExit(host, await runWhoami(flagsOf(command), peopleIo(host))),
  );
}
