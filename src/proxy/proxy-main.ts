/**
 * Process entry of the sealing proxy. Started detached by the plugin hook, it receives its
 * launch spec over IPC, listens on 127.0.0.1, publishes its state file, and exits by itself
 * once no run has used it for the idle period.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LaunchSpec } from './launch-spec';
import { createProxyServer, type ProxyServer } from './proxy-server';
import { createRemoteSessionOpener } from './remote-run-session';
import { RunRegistry } from './run-registry';
import type { OpenRunSession } from './run-session';
import { removeProxyStateIfOwned, writeProxyState } from './state-file';

const SPEC_WAIT_MS = 10_000;

export interface RunningProxy {
  port: number;
  shutdown(reason: string): Promise<void>;
}

/** Starts serving; `openSession` is injectable so the lifecycle can be tested without a server. */
export async function startProxy(
  spec: LaunchSpec,
  openSession: OpenRunSession = createRemoteSessionOpener(spec.client),
  log: (line: string) => void = logToStderr,
): Promise<RunningProxy> {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nx-sealed-cache-proxy-'));
  const registry = new RunRegistry(openSession);
  const server = createProxyServer({
    registry,
    controlSecret: spec.controlSecret,
    tempDir,
    requestDeadlineMs: spec.requestDeadlineMs,
  });
  const port = await server.listen();
  const startedAt = Date.now();
  const expiresAt = spec.lifetimeMs === undefined ? undefined : new Date(startedAt + spec.lifetimeMs).toISOString();
  writeProxyState(spec.stateFile, {
    version: 1,
    pid: process.pid,
    port,
    controlSecret: spec.controlSecret,
    startedAt: new Date(startedAt).toISOString(),
    expiresAt,
  });
  log(`listening on 127.0.0.1:${port}`);

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string) =>
    (stopping ??= (async () => {
      clearInterval(idleCheck);
      log(`stopping: ${reason}`);
      removeProxyStateIfOwned(spec.stateFile, process.pid);
      await server.close();
      fs.rmSync(tempDir, { recursive: true, force: true });
    })());
  const idleCheck = setInterval(
    () => checkIdle(server, registry, spec, shutdown, startedAt),
    Math.min(1_000, Math.max(50, spec.idleMs / 2)),
  );
  idleCheck.unref();
  return { port, shutdown };
}

function checkIdle(
  server: ProxyServer,
  registry: RunRegistry,
  spec: LaunchSpec,
  shutdown: (reason: string) => Promise<void>,
  startedAt: number,
): void {
  const now = Date.now();
  registry.expire(now, spec.runTtlMs);
  if (spec.lifetimeMs !== undefined && now - startedAt >= spec.lifetimeMs) {
    void shutdown(`lifetime of ${spec.lifetimeMs} ms reached`).then(() => process.exit(0));
  } else if (server.isIdle(spec.idleMs)) {
    void shutdown(`idle for ${spec.idleMs} ms`).then(() => process.exit(0));
  }
}

/** Waits for the spec from the parent, starts, reports readiness, then lets the parent go. */
export function runProxyProcess(): void {
  const giveUp = setTimeout(() => process.exit(2), SPEC_WAIT_MS);
  process.once('message', (message: unknown) => {
    clearTimeout(giveUp);
    const spec = LaunchSpec.safeParse(message);
    if (!spec.success) {
      logToStderr('invalid launch spec');
      process.exit(2);
    }
    startProxy(spec.data).then(
      (proxy) => {
        const stop = (signal: string) => void proxy.shutdown(signal).then(() => process.exit(0));
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        process.send?.({ ready: true, port: proxy.port }, () => process.disconnect?.());
      },
      (err: unknown) => {
        logToStderr(`could not start: ${err instanceof Error ? err.message : 'unknown error'}`);
        process.exit(1);
      },
    );
  });
}

function logToStderr(line: string): void {
  process.stderr.write(`${new Date().toISOString()} nx-sealed-cache proxy ${process.pid}: ${line}\n`);
}

if (require.main === module) runProxyProcess();
