/**
 * What most e2e files start from: the real server, an org and a workspace on it, a read-write and a
 * read-only CI token, and an Nx workspace from a fixture; one dispose() takes it all down again.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapWorkspace, createToken, type BootstrappedWorkspace, type TokenRecord } from './cli';
import type { FixtureName } from './paths';
import { processesUnder } from './process-table';
import { killAllTrackedProcesses } from './processes';
import { startServer, type RunningServer, type StartServerOptions } from './server';
import { createWorkspace, type NxWorkspace, type RunEnv, type WorkspaceOptions } from './workspace';

export interface TestBedOptions {
  /** Passed to bootstrapWorkspace (anonymous access, names). */
  bootstrap?: Parameters<typeof bootstrapWorkspace>[1];
  /** Extra `serve` flags, e.g. `--ci-identity-http-loopback` for a loopback OIDC issuer. */
  serverArgs?: string[];
  /** Create the two CI tokens. Default true. */
  tokens?: boolean;
  /** A private proxy state folder for NX_SEALED_CACHE_PROXY_DIR; dispose kills any proxy still running from it. */
  proxyDir?: boolean;
  /** Nx loads a tasks runner from the fixture's realpath, which cannot see the linked package: set NODE_PATH for it. */
  runnerNodePath?: boolean;
  /** The server's options (extra flags, env such as a database URL). */
  server?: StartServerOptions;
  /** The workspace's options, built from what exists by then. */
  workspace?: (bed: Omit<TestBed, 'ws' | 'dispose'>) => WorkspaceOptions;
}

export interface TestBed {
  server: RunningServer;
  boot: BootstrappedWorkspace;
  /** read-write, trusted tier, named ci-write. */
  writeToken: TokenRecord;
  /** read only, named ci-read. */
  readToken: TokenRecord;
  /** Empty unless `proxyDir` was asked for. */
  proxyDir: string;
  ws: NxWorkspace;
  /** Workspace, server, every tracked child and any proxy left behind; safe after a failed start. */
  dispose(): Promise<void>;
}

export async function startTestBed(fixture: FixtureName, options: TestBedOptions = {}): Promise<TestBed> {
  let server: RunningServer | undefined;
  let ws: NxWorkspace | undefined;
  const proxyDir = options.proxyDir
    ? join(realpathSync(mkdtempSync(join(tmpdir(), `nxsc-${fixture}-proxy-`))), 'state')
    : '';
  const dispose = async (): Promise<void> => {
    try {
      await ws?.dispose();
      await server?.dispose();
    } finally {
      killAllTrackedProcesses();
      if (proxyDir) {
        // Only finds something when a test failed before the proxy exited on its own.
        for (const proxy of processesUnder(proxyDir)) process.kill(proxy.pid, 'SIGKILL');
        rmSync(join(proxyDir, '..'), { recursive: true, force: true });
      }
    }
  };
  try {
    server = await startServer({
      ...options.server,
      args: [...(options.server?.args ?? []), ...(options.serverArgs ?? [])],
    });
    const boot = await bootstrapWorkspace(server, options.bootstrap);
    const tokens = options.tokens ?? true;
    const writeToken = tokens
      ? await createToken(boot.target, {
          kind: 'ci',
          workspace: boot.workspace.id,
          access: 'read-write',
          name: 'ci-write',
          tier: 'trusted',
        })
      : noToken('writeToken');
    const readToken = tokens
      ? await createToken(boot.target, { kind: 'ci', workspace: boot.workspace.id, access: 'read', name: 'ci-read' })
      : noToken('readToken');
    const parts = { server, boot, writeToken, readToken, proxyDir };
    const workspaceOptions = options.workspace?.(parts) ?? {};
    const env: RunEnv = { ...workspaceOptions.env };
    ws = await createWorkspace(fixture, { ...workspaceOptions, env });
    // The workspace reads `env` at every run, so NODE_PATH can follow the root it only now knows.
    if (options.runnerNodePath) env.NODE_PATH = join(ws.root, 'node_modules');
    return { ...parts, ws, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** A token the test bed was told not to create: any use fails loudly rather than with `undefined`. */
function noToken(name: string): TokenRecord {
  return new Proxy({} as TokenRecord, {
    get: () => {
      throw new Error(`startTestBed ran with tokens: false, so there is no ${name}`);
    },
  });
}
