/**
 * Archives that tar parsers read differently, end to end: the real `nx` CLI through the plugin and sealing
 * proxy against the real server. Each form is sealed with the right key (a key holder) and planted under a
 * real task hash before any genuine upload (write-once keeps it there); the same forms unsealed are refused
 * by the server. Nx 24.0.6 and 22.7.12 (fixed) get every form; Nx 20.8.2 (affected by CVE-2026-71476) also
 * the links and cached failures the shield refuses. Held per form: the run succeeds, the task runs again,
 * outputs are the genuine ones, nothing appears outside the workspace, no link in Nx's cache folder.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey, parseEncryptionKeys } from '../../src/crypto';
import {
  bootstrapWorkspace,
  createToken,
  createWorkspace,
  killAllTrackedProcesses,
  processesUnder,
  startServer,
  type FixtureName,
  type NxWorkspace,
  type RunningServer,
} from '../e2e/harness';
import { AreaRecord } from './support/area-record';
import { cachePut } from './support/hardening-server';
import { seal } from './support/hostile-archives';
import { differentialForms, gzipped } from './support/nx-tar-forms';

const record = new AreaRecord('Archive forms', __filename);
const key = generateEncryptionKey();
const [sealingKey] = parseEncryptionKeys(key);

let server: RunningServer;
const workspaces: NxWorkspace[] = [];

afterAll(async () => {
  try {
    for (const ws of workspaces) {
      await ws.dispose();
      for (const proxy of processesUnder(join(ws.tempDir, 'proxy-state'))) process.kill(proxy.pid, 'SIGKILL');
    }
    await server?.dispose();
  } finally {
    killAllTrackedProcesses();
    record.flush();
  }
});

/** Every path under `dir`, links not followed. */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return lstatSync(path).isDirectory() ? [path, ...walk(path)] : [path];
  });
}

const VERSIONS: Array<{ fixture: FixtureName; label: string; affected: boolean }> = [
  { fixture: 'nx24', label: 'nx 24.0.6', affected: false },
  { fixture: 'nx22', label: 'nx 22.7.12', affected: false },
  { fixture: 'nx20', label: 'nx 20.8.2', affected: true },
];

beforeAll(async () => {
  server = await startServer();
});

test.each(VERSIONS)(
  '$label: differential and reserved forms under real task hashes change nothing',
  async ({ fixture, label, affected }) => {
    const boot = await bootstrapWorkspace(server);
    const token = (
      await createToken(boot.target, {
        kind: 'ci',
        workspace: boot.workspace.id,
        access: 'read-write',
        name: 'ci',
        tier: 'trusted',
      })
    ).token;
    const ws = await createWorkspace(fixture, {
      patchNxJson: (json) => {
        delete json.useLegacyCache;
        json.plugins = [
          { plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: boot.workspace.id, timeoutMs: 5_000 } },
        ];
      },
      env: {
        NX_SEALED_CACHE_ACCESS_TOKEN: token,
        NX_SEALED_CACHE_ENCRYPTION_KEY: key,
        NX_SEALED_CACHE_PROXY_IDLE_MS: '1500',
      },
    });
    workspaces.push(ws);
    const outside = join(ws.tempDir, 'outside');
    mkdirSync(outside);
    const forms = differentialForms('a', outside).filter((form) => affected || !form.affectedOnly);
    // One project per form, so one Nx run tries them all.
    for (let i = ws.projects.length; i < forms.length; i++) {
      ws.writeFile(
        `projects/p${i}/project.json`,
        JSON.stringify({
          name: `p${i}`,
          targets: {
            build: { executor: 'nx:run-commands', options: { command: `node tools/write-outputs.js p${i}` } },
          },
        }),
      );
      ws.writeFile(`projects/p${i}/src/main.txt`, `project p${i}\n`);
    }
    const env = { NX_SEALED_CACHE_PROXY_DIR: join(ws.tempDir, 'proxy-state') };
    const local = await ws.build({ ...env, NX_SKIP_REMOTE_CACHE: 'true' });
    expect(local.exitCode).toBe(0);
    const genuine = ws.readOutputs();
    const hashes = ws.localCacheHashes();
    expect(hashes.length).toBeGreaterThanOrEqual(forms.length);

    for (const [i, form] of forms.entries()) {
      const hash = hashes[i]!;
      const plain = gzipped(form);
      // Links inside and failures are fine for fixed Nx; plain POSIX ustar is the runner's own upload form.
      const serverMayStore = form.affectedOnly === true || form.packerForm === true;
      await record.check(
        `${label}, server: unsealed ${form.name} is ${serverMayStore ? 'stored or refused' : 'refused'}`,
        async () => {
          const status = await cachePut(server.url, `unsealed-${fixture}-${i}`, plain, token);
          return status === 403 || (serverMayStore && status === 200) ? undefined : `server answered ${status}`;
        },
      );
      expect(await cachePut(server.url, hash, await seal(plain, sealingKey!, hash), token)).toBe(200);
    }

    const outsideBefore = walk(ws.tempDir).filter(
      (path) => !path.startsWith(ws.root) && !path.startsWith(ws.cacheDir) && !path.includes('proxy-state'),
    );
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const result = await ws.build(env);
    await record.check(`${label}: the run succeeds`, () =>
      result.exitCode === 0 ? undefined : `exit ${result.exitCode}: ${result.stderr.slice(-300)}`,
    );
    const remote = Object.entries(result.outcomes).filter(([, outcome]) => outcome !== 'miss');
    await record.check(`${label}: all ${forms.length} planted tasks ran again (no hostile blob restored)`, () =>
      Object.keys(result.outcomes).length >= forms.length && remote.length === 0
        ? undefined
        : `restored: ${remote.map(([p, o]) => `${p}=${o}`).join(', ')}`,
    );
    await record.check(`${label}: outputs are the genuine ones`, () =>
      JSON.stringify(ws.readOutputs()) === JSON.stringify(genuine) ? undefined : 'outputs differ',
    );
    await record.check(`${label}: nothing appeared outside the workspace`, () => {
      const after = walk(ws.tempDir).filter(
        (path) => !path.startsWith(ws.root) && !path.startsWith(ws.cacheDir) && !path.includes('proxy-state'),
      );
      const added = after.filter((path) => !outsideBefore.includes(path));
      return added.length === 0 ? undefined : `new: ${added.slice(0, 3).join(', ')}`;
    });
    await record.check(`${label}: no link and no planted file in Nx's cache folder`, () => {
      const found = walk(ws.cacheDir).filter(
        (path) => lstatSync(path).isSymbolicLink() || /escape|through|hidden|second-member|pax|planted/.test(path),
      );
      return found.length === 0 ? undefined : found.slice(0, 3).join(', ');
    });
    await record.check(`${label}: the proxy's warnings name the refusals`, () => {
      const log = `${result.stdout}\n${result.stderr}`;
      return /ERR_ARCHIVE_(NONSTANDARD|UNSAFE_ENTRY)/.test(log) ? undefined : 'no ERR_ARCHIVE_ warning printed';
    });
    if (affected) {
      await record.check(`${label}: the summary names the vulnerable version once`, () => {
        const lines = `${result.stdout}\n${result.stderr}`
          .split('\n')
          .filter((line) => line.includes('CVE-2026-71476'));
        return lines.length === 1 && lines[0]!.includes('20.8.2') && lines[0]!.includes('22.7.7')
          ? undefined
          : `${lines.length} lines`;
      });
    }
    expect(record.describeFailures()).toEqual([]);
  },
);
