/**
 * `nx-sealed-cache:serve`: runs this package's `serve` command as a child process, forwards
 * SIGINT/SIGTERM to it, and resolves when it exits.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { SealedCacheError } from '../../src/errors';
import type { ServeExecutorSchema } from './schema';

/** The part of Nx's ExecutorContext we read; every Nx 17–24 context has it. */
export interface ServeExecutorContext {
  root: string;
}

export interface ServeExecutorDeps {
  /** The CLI entry to run; this package's built `dist/src/cli/main.js` by default. */
  cliPath?: string;
  env?: NodeJS.ProcessEnv;
}

const ServeOptions = z.object({
  dataDir: z.string().min(1),
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  maxArtifactSize: z
    .string()
    .regex(/^\d+\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i, 'must be a byte size like 512MiB or 2GiB')
    .optional(),
});

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export default async function serveExecutor(
  options: ServeExecutorSchema,
  context: ServeExecutorContext,
): Promise<{ success: boolean }> {
  return runServe(options, context, {});
}

export async function runServe(
  options: ServeExecutorSchema,
  context: ServeExecutorContext,
  deps: ServeExecutorDeps,
): Promise<{ success: boolean }> {
  const args = serveArguments(options, context.root);
  const cliPath = deps.cliPath ?? builtCliPath();
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: context.root,
    env: deps.env ?? process.env,
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    return await new Promise((resolvePromise, reject) => {
      child.once('error', (cause) =>
        reject(new SealedCacheError('ERR_CONFIG_INVALID', `cannot start ${cliPath}`, { cause })),
      );
      // Stopped by a signal we forwarded is a normal end of a long-running server.
      child.once('exit', (code, signal) =>
        resolvePromise({
          success: code === 0 || (signal !== null && (FORWARDED_SIGNALS as readonly string[]).includes(signal)),
        }),
      );
    });
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}

/** Executor options as `serve` flags; the data dir is anchored at the workspace root. */
export function serveArguments(options: ServeExecutorSchema, workspaceRoot: string): string[] {
  const parsed = ServeOptions.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `nx-sealed-cache:serve option "${String(issue?.path[0] ?? 'options')}" ${issue?.message ?? 'is invalid'}`,
    );
  }
  const { dataDir, host, port, maxArtifactSize } = parsed.data;
  return [
    'serve',
    '--data-dir',
    resolve(workspaceRoot, dataDir),
    ...(host ? ['--host', host] : []),
    ...(port !== undefined ? ['--port', String(port)] : []),
    ...(maxArtifactSize ? ['--max-artifact-size', maxArtifactSize] : []),
  ];
}

/** This package's root is the nearest package.json named nx-sealed-cache above this file (source or dist). */
function builtCliPath(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'nx-sealed-cache'
    ) {
      return join(dir, 'dist', 'src', 'cli', 'main.js');
    }
    if (dirname(dir) === dir)
      throw new SealedCacheError(
        'ERR_CONFIG_INVALID',
        'cannot find the nx-sealed-cache package that holds this executor',
      );
  }
}
