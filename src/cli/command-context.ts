import type { Command } from 'commander';
import { normaliseServerUrl } from '../client/server-url';
import { AdminApiClient } from './api-client';
import type { CliIo } from './cli-io';
import { type GlobalOptions, printError } from './output';

export const DEFAULT_URL = 'http://127.0.0.1:7080';
/** The admin CLI's own variable, so an admin token never sits in the variable the plugin reads. */
export const ENV_ADMIN_TOKEN = 'NX_SEALED_CACHE_ADMIN_TOKEN';

export interface ActionInput {
  args: string[];
  options: Record<string, unknown>;
  globals: GlobalOptions;
  io: CliIo;
  client(): AdminApiClient;
}

/** Shared by every command: global options, the API client, and the error contract (exit code 1). */
export class CommandContext {
  exitCode = 0;

  constructor(readonly io: CliIo) {}

  globalsOf(command: Command): GlobalOptions {
    const all = command.optsWithGlobals<{ url?: string; token?: string; json?: boolean }>();
    return {
      url: all.url ?? this.io.env.NX_SEALED_CACHE_URL ?? DEFAULT_URL,
      token: all.token ?? nonEmpty(this.io.env[ENV_ADMIN_TOKEN]) ?? nonEmpty(this.io.env.NX_SEALED_CACHE_ACCESS_TOKEN),
      json: all.json === true,
    };
  }

  /** Wraps a commander action: positional args, then options, then the command itself. */
  action(handler: (input: ActionInput) => Promise<void>): (...raw: unknown[]) => Promise<void> {
    return async (...raw: unknown[]) => {
      const command = raw[raw.length - 1] as Command;
      const options = raw[raw.length - 2] as Record<string, unknown>;
      const args = raw.slice(0, -2).map((a) => String(a));
      const globals = this.globalsOf(command);
      try {
        await handler({
          args,
          options,
          globals,
          io: this.io,
          client: () =>
            new AdminApiClient({ url: normaliseServerUrl(globals.url, 'the server URL'), token: globals.token }),
        });
      } catch (err) {
        printError(this.io, globals.json, err);
        this.exitCode = 1;
      }
    };
  }
}

const nonEmpty = (value: string | undefined): string | undefined => (value?.trim() ? value.trim() : undefined);
