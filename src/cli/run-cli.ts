/** The programmatic entry of the CLI: `runCli(argv, io)` resolves to the exit code. */
import { Command, CommanderError } from 'commander';
import { SealedCacheError } from '../errors';
import { packageVersion } from '../version';
import type { CliIo } from './cli-io';
import { CommandContext } from './command-context';
import { registerAuditCommands } from './commands/audit';
import { registerDoctorCommand } from './commands/doctor';
import { registerEntriesCommands } from './commands/entries';
import { registerLoginCommand } from './commands/login';
import { registerLogoutCommand } from './commands/logout';
import { registerWhoamiCommand } from './commands/whoami';
import { registerMemberCommands } from './commands/member';
import { registerOrgCommands } from './commands/org';
import { registerProxyCommands } from './commands/proxy';
import { registerSigningKeyCommands } from './commands/signing-key';
import { registerStatsCommands } from './commands/stats';
import { registerTokenCommands } from './commands/token';
import { registerTrustPolicyCommands } from './commands/trust-policy';
import { registerUserCommands } from './commands/user';
import { registerWorkspaceCommands } from './commands/workspace';
import { printError } from './output';
import {
  SERVER_COMMANDS,
  SERVER_PACKAGE,
  installedServerCli,
  localServerCommands,
  serverCommandOf,
  serverNotInstalled,
  type ServerCommands,
} from './server-gateway';

function buildProgram(ctx: CommandContext, server: ServerCommands | undefined): Command {
  const program = new Command('nx-sealed-cache')
    .description('A self-hosted, security-first remote cache for Nx')
    .version(packageVersion())
    .option('--url <url>', 'server URL (env NX_SEALED_CACHE_URL, default http://127.0.0.1:7080)')
    .option(
      '--token <token>',
      'token for admin commands (env NX_SEALED_CACHE_ADMIN_TOKEN, then NX_SEALED_CACHE_ACCESS_TOKEN)',
    )
    .option('--json', 'print one JSON document on stdout')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (text) => ctx.io.stdout(text), writeErr: () => undefined });
  if (server) {
    server.registerServeCommand(program, ctx);
    server.registerAdminCommands(program, ctx);
  } else {
    // Listed in --help; runCli hands them to nx-sealed-cache-server (or refuses) before parsing.
    for (const [name, summary] of Object.entries(SERVER_COMMANDS))
      program.command(name).description(`${summary} (needs the ${SERVER_PACKAGE} package)`);
  }
  registerOrgCommands(program, ctx);
  registerWorkspaceCommands(program, ctx);
  registerUserCommands(program, ctx);
  registerMemberCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerTrustPolicyCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerEntriesCommands(program, ctx);
  registerStatsCommands(program, ctx);
  if (server) {
    server.registerBackupCommand(program, ctx);
    server.registerStorageCommands(program, ctx);
  }
  registerLoginCommand(program, ctx);
  registerLogoutCommand(program, ctx);
  registerWhoamiCommand(program, ctx);
  registerDoctorCommand(program, ctx);
  registerProxyCommands(program, ctx);
  registerSigningKeyCommands(program, ctx);
  // Subcommands inherit exitOverride and output settings only when set on each.
  const configure = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({ writeOut: (text) => ctx.io.stdout(text), writeErr: () => undefined });
      configure(sub);
    }
  };
  configure(program);
  return program;
}

function usageError(err: CommanderError): SealedCacheError {
  return new SealedCacheError('ERR_INPUT_INVALID', err.message.replace(/^error: /, ''));
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const server = localServerCommands();
  const serverCommand = server ? undefined : serverCommandOf(argv);
  if (serverCommand !== undefined) {
    const installed = installedServerCli();
    if (installed) return installed.runCli(argv, io);
    printError(io, argv.includes('--json'), serverNotInstalled(serverCommand));
    return 1;
  }
  const ctx = new CommandContext(io);
  const program = buildProgram(ctx, server);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return 0;
      printError(io, argv.includes('--json'), usageError(err));
      return 1;
    }
    printError(io, argv.includes('--json'), err);
    return 1;
  }
}
