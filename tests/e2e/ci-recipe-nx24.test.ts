/**
 * The CI recipe of docs/client.md: one step runs `nx-sealed-cache proxy start` with the token and key in its
 * environment; the Nx steps run with neither. A hostile task reads its own environment and /proc/<pid>/environ
 * of every ancestor (PPid up to pid 1) and of every other process it can open, and finds neither secret;
 * the run's uploads still land sealed, and a later step gets remote hits. Nx 24, daemon off and on.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey, isSealed } from '../../src/crypto';
import {
  CLI_ENTRY,
  type NxWorkspace,
  type ProcessResult,
  type RunningServer,
  type TestBed,
  type TokenRecord,
  assertSucceeded,
  runProcess,
  startTestBed,
} from './harness';

const REPORT = 'proc-report.json';

/** Reads everything a same-user task can: its env, every ancestor's initial environment, every readable /proc/<pid>/environ. */
const HOSTILE_SCRIPT = `
const fs = require('fs');
const read = (pid) => { try { return fs.readFileSync('/proc/' + pid + '/environ', 'latin1'); } catch { return null; } };
const ancestors = [];
let pid = process.pid;
while (pid > 1) {
  const status = fs.readFileSync('/proc/' + pid + '/status', 'utf8');
  pid = Number(/^PPid:\\s+(\\d+)/m.exec(status)[1]);
  if (pid >= 1) ancestors.push({ pid, environ: read(pid) });
}
const others = {};
for (const name of fs.readdirSync('/proc')) if (/^\\d+$/.test(name)) { const text = read(name); if (text) others[name] = text; }
fs.writeFileSync(${JSON.stringify(REPORT)}, JSON.stringify({ env: process.env, ancestors, others }));
`;

interface ProcReport {
  env: Record<string, string>;
  ancestors: Array<{ pid: number; environ: string | null }>;
  others: Record<string, string>;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : [],
  );
}

describe.each([
  ['daemon off', false],
  ['daemon on', true],
])('the CI recipe on Nx 24 (%s): secrets only in the `proxy start` step', (_label, daemon) => {
  let bed: TestBed | undefined;
  let server: RunningServer;
  let ws: NxWorkspace;
  let writeToken: TokenRecord;
  let proxyDir: string;
  const encryptionKey = generateEncryptionKey();
  const buildProjects = (): string[] => ws.projects.filter((p) => p !== 'e');

  /** A CI step of its own: only this process gets the secrets. */
  const cli = (args: string[], secrets: boolean): Promise<ProcessResult> =>
    runProcess(process.execPath, [CLI_ENTRY, ...args], {
      cwd: ws.root,
      env: {
        PATH: process.env.PATH,
        HOME: ws.homeDir,
        XDG_CONFIG_HOME: join(ws.homeDir, '.config'),
        NX_SEALED_CACHE_PROXY_DIR: proxyDir,
        ...(secrets
          ? { NX_SEALED_CACHE_ACCESS_TOKEN: writeToken.token, NX_SEALED_CACHE_ENCRYPTION_KEY: encryptionKey }
          : {}),
      },
      timeoutMs: 30_000,
    });

  const readReport = (): ProcReport => JSON.parse(readFileSync(join(ws.root, REPORT), 'utf8')) as ProcReport;

  beforeAll(async () => {
    bed = await startTestBed('nx24', {
      proxyDir: true,
      workspace: ({ server, proxyDir }) => ({
        daemon,
        patchNxJson: (json) => {
          json.plugins = [{ plugin: 'nx-sealed-cache', options: { url: server.url, timeoutMs: 3_000 } }];
        },
        env: { CI: 'true', NX_SEALED_CACHE_PROXY_DIR: proxyDir, NX_SEALED_CACHE_PROXY_IDLE_MS: '1500' },
      }),
    });
    ({ server, ws, writeToken, proxyDir } = bed);
    ws.writeFile(
      'projects/e/project.json',
      JSON.stringify({
        name: 'e',
        targets: {
          leak: { executor: 'nx:run-commands', cache: false, options: { command: 'node projects/e/hostile.js' } },
        },
      }),
    );
    ws.writeFile('projects/e/hostile.js', HOSTILE_SCRIPT);
  });

  afterAll(() => bed?.dispose());

  it('starts the proxy in its own step, prints no secret, and the proxy process has none in its environment', async () => {
    const started = assertSucceeded(await cli(['proxy', 'start', '--ttl', '10m', '--json'], true));
    const status = assertSucceeded(await cli(['proxy', 'status', '--json'], false));
    for (const output of [started.stdout, started.stderr, status.stdout, status.stderr]) {
      expect(output).not.toContain(writeToken.token);
      expect(output).not.toContain(encryptionKey);
    }
    const report = JSON.parse(status.stdout) as { running: boolean; pid: number; expiresAt: string };
    expect(report.running).toBe(true);
    expect(Date.parse(report.expiresAt)).toBeGreaterThan(Date.now());
    const environ = readFileSync(`/proc/${report.pid}/environ`, 'latin1');
    expect(environ).not.toContain(writeToken.token);
    expect(environ).not.toContain(encryptionKey);
  });

  it('lands every upload sealed from an Nx step that has no secret, with no warning', async () => {
    const result = assertSucceeded(await ws.build());
    expect(buildProjects().map((p) => result.outcomes[p])).toEqual(buildProjects().map(() => 'miss'));
    expect(`${result.stdout}${result.stderr}`).not.toContain('exported to Nx on CI');
    const hashes = ws.localCacheHashes();
    const blobs = listFiles(server.dataDir).filter((file) => hashes.some((hash) => file.includes(`${hash}.`)));
    expect(blobs).toHaveLength(buildProjects().length);
    for (const blob of blobs) expect(isSealed(readFileSync(blob).subarray(0, 5))).toBe(true);
  });

  it('gives a hostile task neither secret in its env, any ancestor environ or any readable environ', async () => {
    rmSync(join(ws.root, REPORT), { force: true });
    assertSucceeded(await ws.run(['run', 'e:leak']));
    const report = readReport();
    // The walk really read Nx's own environment (it carries the workspace's NX_DAEMON) up to the top.
    expect(report.ancestors.some((a) => a.environ?.includes(`NX_DAEMON=${daemon}`))).toBe(true);
    expect(report.ancestors.at(-1)?.pid).toBe(1);
    expect(report.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN).toMatch(/^nxscp_/);
    const seen = JSON.stringify(report);
    expect(seen).not.toContain(writeToken.token);
    expect(seen).not.toContain(encryptionKey);
  });

  it('gets remote hits in a later step after nx reset', async () => {
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const result = assertSucceeded(await ws.build());
    expect(buildProjects().map((p) => result.outcomes[p])).toEqual(buildProjects().map(() => 'remote'));
  });

  it('stops on `proxy stop`, after which status reports it gone', async () => {
    const stopped = JSON.parse(assertSucceeded(await cli(['proxy', 'stop', '--json'], false)).stdout) as {
      stopped: boolean;
    };
    expect(stopped.stopped).toBe(true);
    const status = await cli(['proxy', 'status', '--json'], false);
    expect(status.exitCode).toBe(3);
    expect((JSON.parse(status.stdout) as { running: boolean }).running).toBe(false);
  });

  it('warns in one line when the secrets are exported to Nx on CI, where a task can read them from /proc', async () => {
    rmSync(join(ws.root, REPORT), { force: true });
    const exported = {
      NX_SEALED_CACHE_ACCESS_TOKEN: writeToken.token,
      NX_SEALED_CACHE_ENCRYPTION_KEY: encryptionKey,
      NX_DAEMON: 'false',
    };
    const result = assertSucceeded(await ws.run(['run', 'e:leak'], exported));
    const warnings = `${result.stdout}${result.stderr}`
      .split('\n')
      .filter((line) => line.includes('exported to Nx on CI'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('nx-sealed-cache proxy start');
    expect(warnings[0]).not.toContain(writeToken.token);
    // The reason for the recipe: the same walk finds the token in Nx's initial environment.
    expect(readReport().ancestors.some((a) => a.environ?.includes(writeToken.token))).toBe(true);
  });
});
