/** `nx-sealed-cache whoami`: who this machine is to the cache server, for which workspace, with what access, and where the credential came from. */
import type { Command } from 'commander';
import { identityText } from '../../client/ci-identity';
import type { ClientConfig } from '../../client/config';
import {
  CREDENTIAL_SOURCE_TEXT,
  describeAccess,
  fetchAccess,
  GITLAB_SPENT_NOTE,
  resolveRunCredential,
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
  let config: ClientConfig | undefined;
  try {
    config = await resolveRunCredential(resolveServerTarget(flags, io), io);
    for (const warning of config.warnings) io.err(warning);
    if (config.identity?.provider === 'GitLab CI' && config.identity.failure === undefined) io.err(GITLAB_SPENT_NOTE);
    const access = await fetchAccess({
      url: config.url,
      workspaceId: config.workspaceId,
      token: config.credential.token,
      timeoutMs: config.timeouts.requestMs,
    });
    // The identity state names the job and the outcome, never the exchanged token.
    const identity = config.identity ? { identity: config.identity } : {};
    if (flags.json) {
      const answer = { url: config.url, credentialSource: config.credential.source, ...identity, ...access };
      io.out(JSON.stringify(answer, null, 2));
      return 0;
    }
    io.out(`server:     ${config.url}`);
    for (const line of describeAccess(access)) io.out(line);
    io.out(`credential: ${CREDENTIAL_SOURCE_TEXT[config.credential.source]}`);
    if (config.identity) io.out(`identity:   ${identityText(config.identity)}`);
    return 0;
  } catch (err) {
    // The fallback after a refused exchange can itself be refused (anonymous `none`): say both.
    const identity = config?.identity;
    if (identity && !flags.json) io.err(`identity:   ${identityText(identity)}`);
    printFailure(io, flags, err, identity ? { identity } : {});
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
