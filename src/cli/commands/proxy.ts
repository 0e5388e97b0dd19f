/**
 * `nx-sealed-cache proxy start|status|stop`: the CI recipe's own step. `start` reads the token and key
 * from its environment, hands them to a detached loopback proxy over IPC, and exits; the later steps
 * run Nx with no secret in their environment and the plugin finds that proxy by the workspace.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { resolveClientConfig } from '../../client/config';
import { SealedCacheError } from '../../errors';
import { pickClientEnv, proxyProcessEnv } from '../../plugin/run-proxy';
import { readLastRun } from '../../proxy/last-run';
import { findNxJson } from '../access-check';
import { answeringProxy, startPreStartedProxy, stopPreStartedProxy } from '../../proxy/pre-started';
import { readProxySettings } from '../../proxy/proxy-settings';
import type { ClientInputs } from '../../proxy/remote-run-session';
import { printError } from '../output';
import type { CommandContext } from '../command-context';

const MAX_TTL_MS = 7 * 24 * 60 * 60_000;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 60 * 60_000 };

interface ProxyFlags {
  workspaceRoot?: string;
  ttl?: string;
  url?: string;
  token?: string;
  json?: boolean;
}

/** `90s`, `45m`, `6h`: at most 7 days. */
export function parseTtl(text: string): number {
  const match = /^(\d{1,6})([smh])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : NaN;
  if (!Number.isFinite(ms) || ms < 1_000 || ms > MAX_TTL_MS) {
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `--ttl must be a duration such as 90s, 45m or 6h, at most 168h (got "${text}")`,
    );
  }
  return ms;
}

/** The plugin's options from nx.json, so the proxy talks to the server the workspace is wired to. */
function readPluginOptions(workspaceRoot: string): Record<string, unknown> {
  const file = path.join(workspaceRoot, 'nx.json');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `Cannot read ${file}: run this in the workspace root or pass --workspace-root.`,
      { cause },
    );
  }
  const plugins = (json as { plugins?: unknown }).plugins;
  const entry = Array.isArray(plugins)
    ? plugins.find(
        (item): item is { plugin: string; options?: unknown } =>
          typeof item === 'object' && item !== null && (item as { plugin?: unknown }).plugin === 'nx-sealed-cache',
      )
    : undefined;
  const options = entry?.options;
  return typeof options === 'object' && options !== null && !Array.isArray(options)
    ? { ...(options as Record<string, unknown>) }
    : {};
}

function rootOf(flags: ProxyFlags): string {
  return path.resolve(flags.workspaceRoot ?? process.cwd());
}

async function runStart(flags: ProxyFlags, ctx: CommandContext): Promise<void> {
  if (flags.token)
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      'proxy start takes the token from NX_SEALED_CACHE_ACCESS_TOKEN only (argv is visible to every process).',
    );
  const env = ctx.io.env as NodeJS.ProcessEnv;
  const root = rootOf(flags);
  const lifetimeMs = parseTtl(flags.ttl ?? '6h');
  const options = readPluginOptions(root);
  if (flags.url) options.url = flags.url;
  const client: ClientInputs = { options, env: pickClientEnv(env), homeDir: os.homedir() };
  // Fails here, in the step that has the secrets, rather than as a silent miss in every Nx step.
  resolveClientConfig({ options: client.options, env: client.env, homeDir: client.homeDir });
  const settings = readProxySettings(env);
  const { proxy, alreadyRunning } = await startPreStartedProxy(root, {
    settings,
    client,
    lifetimeMs,
    env: proxyProcessEnv(env),
  });
  const report = {
    workspaceRoot: root,
    pid: proxy.state.pid,
    port: proxy.state.port,
    expiresAt: proxy.state.expiresAt ?? null,
    alreadyRunning,
  };
  if (flags.json) ctx.io.stdout(`${JSON.stringify(report)}\n`);
  else {
    const verb = alreadyRunning ? 'Already running' : 'Started';
    ctx.io.stdout(
      `${verb}: sealing proxy for ${root} on 127.0.0.1:${report.port} (pid ${report.pid}) until ${report.expiresAt ?? 'idle'}.\n`,
    );
  }
}

async function runStatus(flags: ProxyFlags, ctx: CommandContext): Promise<void> {
  const root = rootOf(flags);
  const running = await answeringProxy(readProxySettings(ctx.io.env as NodeJS.ProcessEnv), root);
  const report = running
    ? {
        workspaceRoot: root,
        running: true,
        pid: running.state.pid,
        port: running.state.port,
        runs: running.runs,
        expiresAt: running.state.expiresAt ?? null,
      }
    : { workspaceRoot: root, running: false };
  if (flags.json) ctx.io.stdout(`${JSON.stringify(report)}\n`);
  else if (running)
    ctx.io.stdout(
      `Running: sealing proxy for ${root} on 127.0.0.1:${running.state.port} (pid ${running.state.pid}), ${running.runs} active run(s), until ${running.state.expiresAt ?? 'idle'}.\n`,
    );
  else ctx.io.stdout(`Not running: no pre-started sealing proxy for ${root}.\n`);
  if (!running) ctx.exitCode = 3;
}

async function runLastRun(flags: ProxyFlags, ctx: CommandContext): Promise<void> {
  // Nx names the workspace by the folder of its nx.json, wherever in it the command runs.
  const nxJson = flags.workspaceRoot ? undefined : findNxJson(process.cwd());
  const root = nxJson ? path.dirname(nxJson) : rootOf(flags);
  const last = readLastRun(readProxySettings(ctx.io.env as NodeJS.ProcessEnv).stateDir, root);
  if (flags.json) ctx.io.stdout(`${JSON.stringify({ workspaceRoot: root, lastRun: last })}\n`);
  else if (last) ctx.io.stdout(`Last run in ${root}, finished ${last.finishedAt}:\n${last.lines.join('\n')}\n`);
  else ctx.io.stdout(`No run through the plugin recorded for ${root} (in this proxy state folder).\n`);
  if (!last) ctx.exitCode = 3;
}

async function runStop(flags: ProxyFlags, ctx: CommandContext): Promise<void> {
  const root = rootOf(flags);
  const result = await stopPreStartedProxy(readProxySettings(ctx.io.env as NodeJS.ProcessEnv), root);
  if (flags.json) ctx.io.stdout(`${JSON.stringify({ workspaceRoot: root, ...result })}\n`);
  else
    ctx.io.stdout(
      result.stopped
        ? `Stopped the sealing proxy for ${root} (pid ${result.pid}).\n`
        : `No running sealing proxy for ${root}; nothing to stop.\n`,
    );
}

export function registerProxyCommands(program: Command, ctx: CommandContext): void {
  const proxy = program
    .command('proxy')
    .description('the loopback sealing proxy a CI step starts, so Nx steps need no secret in their environment');
  const wrap =
    (fn: (flags: ProxyFlags, ctx: CommandContext) => Promise<void>) => async (_options: unknown, command: Command) => {
      const flags = command.optsWithGlobals<ProxyFlags>();
      try {
        await fn(flags, ctx);
      } catch (err) {
        printError(ctx.io, flags.json === true, err);
        ctx.exitCode = 1;
      }
    };
  proxy
    .command('start')
    .description(
      'start the proxy with NX_SEALED_CACHE_ACCESS_TOKEN / _ENCRYPTION_KEY / _SIGNING_KEY from this environment, then exit',
    )
    .option('--workspace-root <dir>', 'the Nx workspace (default: the current directory)')
    .option('--ttl <duration>', 'how long the proxy lives, e.g. 90s, 45m, 6h (default 6h, at most 168h)')
    .action(wrap(runStart));
  proxy
    .command('status')
    .description('whether the pre-started proxy answers (exit code 3 if not)')
    .option('--workspace-root <dir>', 'the Nx workspace')
    .action(wrap(runStatus));
  proxy
    .command('last-run')
    .description(
      "print the lines of this workspace's last run through the plugin (with the Nx daemon on, Nx does not show them)",
    )
    .option('--workspace-root <dir>', 'the Nx workspace')
    .action(wrap(runLastRun));
  proxy
    .command('stop')
    .description('stop the pre-started proxy')
    .option('--workspace-root <dir>', 'the Nx workspace')
    .action(wrap(runStop));
}
