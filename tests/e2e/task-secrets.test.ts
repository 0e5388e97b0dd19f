/**
 * What a hostile build script can find and do, with the documented CI setup: the real token, sealing key and signing
 * key exported as NX_SEALED_CACHE_ACCESS_TOKEN / NX_SEALED_CACHE_ENCRYPTION_KEY / NX_SEALED_CACHE_SIGNING_KEY. One task dumps its whole environment
 * and tries to upload a well-formed artifact under an arbitrary hash with what it found. Nx 20.8 and 24 (plugin,
 * daemon off and on), Nx 22 (plugin) and the Nx 20 tasks runner (legacy cache).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '../../src/crypto/keys';
import { generateSigningKey } from '../../src/crypto/signing-keys';
import {
  type BootstrappedWorkspace,
  type FixtureName,
  type NxWorkspace,
  type RunEnv,
  type RunningServer,
  type TokenRecord,
  assertSucceeded,
  bootstrapWorkspace,
  cacheEntryStatus,
  createToken,
  createWorkspace,
  killAllTrackedProcesses,
  startServer,
} from './harness';
import { tarGz } from '../hardening/support/hostile-archives';

const REPORT = 'hostile-task-report.json';
const PLANTED = 'projects/e/planted.tar.gz';
const ARBITRARY_HASH = '98765432109876543210';

/** The hostile task: records its environment, then PUTs a valid Nx payload under a hash Nx never asked for. */
const HOSTILE_SCRIPT = `
const fs = require('fs');
const report = { env: process.env, put: null };
const url = process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER;
const token = process.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN;
(async () => {
  if (url) {
    const body = fs.readFileSync(${JSON.stringify(PLANTED)});
    const res = await fetch(url + '/v1/cache/${ARBITRARY_HASH}', {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), ...(token ? { authorization: 'Bearer ' + token } : {}) },
      body,
    });
    await res.arrayBuffer();
    report.put = res.status;
  }
  fs.writeFileSync(${JSON.stringify(REPORT)}, JSON.stringify(report));
})();
`;

const HOSTILE_PROJECT = {
  'projects/e/project.json': JSON.stringify({
    name: 'e',
    targets: {
      leak: { executor: 'nx:run-commands', cache: false, options: { command: 'node projects/e/hostile.js' } },
    },
  }),
  'projects/e/hostile.js': HOSTILE_SCRIPT,
};

interface HostileReport {
  env: Record<string, string>;
  put: number | null;
}

interface Setup {
  label: string;
  fixture: FixtureName;
  daemon: boolean;
  runner: boolean;
}

const SETUPS: Setup[] = [
  { label: 'Nx 24 plugin, daemon off', fixture: 'nx24', daemon: false, runner: false },
  { label: 'Nx 24 plugin, daemon on', fixture: 'nx24', daemon: true, runner: false },
  { label: 'Nx 22 plugin, daemon off', fixture: 'nx22', daemon: false, runner: false },
  { label: 'Nx 20.8 plugin, daemon off', fixture: 'nx20', daemon: false, runner: false },
  { label: 'Nx 20.8 plugin, daemon on', fixture: 'nx20', daemon: true, runner: false },
  { label: 'Nx 20 tasks runner (legacy cache)', fixture: 'nx20', daemon: false, runner: true },
];

describe.each(SETUPS)('a hostile task ($label)', (setup) => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;
  let writeToken: TokenRecord;
  const encryptionKey = generateEncryptionKey();
  const signingKey = generateSigningKey().privateKeyText;
  const buildProjects = (): string[] => ws.projects.filter((p) => p !== 'e');

  beforeAll(async () => {
    server = await startServer();
    boot = await bootstrapWorkspace(server);
    writeToken = await createToken(boot.target, {
      kind: 'ci',
      workspace: boot.workspace.id,
      access: 'read-write',
      name: 'ci-write',
      tier: 'trusted',
    });
    const env: RunEnv = {
      NX_SEALED_CACHE_ACCESS_TOKEN: writeToken.token,
      NX_SEALED_CACHE_ENCRYPTION_KEY: encryptionKey,
      NX_SEALED_CACHE_SIGNING_KEY: signingKey,
      NX_SEALED_CACHE_PROXY_IDLE_MS: '1500',
    };
    ws = await createWorkspace(setup.fixture, {
      daemon: setup.daemon,
      env,
      patchNxJson: (json) => {
        if (setup.runner) {
          json.useLegacyCache = true;
          json.tasksRunnerOptions = { default: { runner: 'nx-sealed-cache', options: { url: server.url } } };
        } else {
          // Nx 20.8's built-in HTTP cache works with the DB cache only (the fixture's template enables the legacy one).
          delete json.useLegacyCache;
          json.plugins = [{ plugin: 'nx-sealed-cache', options: { url: server.url, timeoutMs: 3_000 } }];
        }
      },
    });
    // Nx requires the runner from its own realpath (the shared fixture), which cannot see the workspace's linked package.
    if (setup.runner) env.NODE_PATH = join(ws.root, 'node_modules');
    env.NX_SEALED_CACHE_PROXY_DIR = join(ws.tempDir, 'proxy-state');
    for (const [path, content] of Object.entries(HOSTILE_PROJECT)) ws.writeFile(path, content);
    ws.writeFile(
      PLANTED,
      await tarGz([
        { header: { name: 'dist/e/planted.txt', type: 'file', mode: 0o644 }, content: 'planted' },
        { header: { name: 'terminalOutput', type: 'file', mode: 0o644 }, content: 'planted\n' },
        { header: { name: 'code', type: 'file', mode: 0o644 }, content: Buffer.alloc(4) },
      ]),
    );
  });

  afterAll(async () => {
    try {
      await ws?.dispose();
      await server?.dispose();
    } finally {
      killAllTrackedProcesses();
    }
  });

  it('sees neither the token nor the keys, and cannot upload under a hash Nx never missed', async () => {
    // The build first, so the daemon (when on) has already served a run.
    assertSucceeded(await ws.build());
    rmSync(join(ws.root, REPORT), { force: true });
    assertSucceeded(await ws.run(['run', 'e:leak']));
    const report = JSON.parse(readFileSync(join(ws.root, REPORT), 'utf8')) as HostileReport;
    const seen = JSON.stringify(report.env);
    expect(seen).not.toContain(writeToken.token);
    expect(seen).not.toContain(encryptionKey);
    expect(seen).not.toContain(signingKey.slice('nxsig1_'.length));
    expect(report.env.NX_SEALED_CACHE_ACCESS_TOKEN ?? '').toBe('');
    expect(report.env.NX_SEALED_CACHE_ENCRYPTION_KEY ?? '').toBe('');
    expect(report.env.NX_SEALED_CACHE_SIGNING_KEY ?? '').toBe('');
    if (setup.runner) {
      // The runner talks to the server itself: tasks get no cache URL or secret at all.
      expect(report.put).toBeNull();
    } else {
      expect(report.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN).toMatch(/^nxscp_/);
      expect(report.put).toBe(403);
    }
    expect(await cacheEntryStatus(server.url, ARBITRARY_HASH, writeToken.token)).toBe(404);
  });

  it("still lands the run's own uploads: every build is a remote hit after nx reset", async () => {
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const result = assertSucceeded(await ws.build());
    expect(buildProjects().map((p) => result.outcomes[p])).toEqual(buildProjects().map(() => 'remote'));
  });
});
