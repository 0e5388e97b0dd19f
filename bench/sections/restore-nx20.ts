/**
 * Section 2: Nx 20 (legacy cache) restoring the same generated workspace: our tasks runner with sealing, Nx's local
 * legacy-cache hit, and nx-remotecache-custom (from npm) backed by a minimal HTTP store, unsealed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '../../src/crypto';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';
import type { BenchContext, Section } from '../lib/context';
import {
  type GeneratedWorkspace,
  type GeneratedWorkspaceOptions,
  createGeneratedWorkspace,
} from '../lib/generated-workspace';
import { type Comparison, type SectionResult, medianOf } from '../lib/report';
import { type PrimedVariant, primeVariant, timeRestores } from '../lib/restore-runs';
import { startOurServer, startReferenceProcess } from '../lib/servers';

const LOCAL = '(a) Nx 20 local legacy-cache hit';
const OURS = '(b) nx-sealed-cache runner -> our server, sealed';
const PEER = '(c) nx-remotecache-custom -> minimal HTTP store, unsealed';

const PEER_FIXTURE = join(REPO_ROOT, 'bench', 'fixtures', 'nx20-remotecache-custom', 'node_modules');

export const restoreNx20: Section = {
  id: 'restore-nx20',
  title: '2. Restore, Nx 20',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const projects = ctx.quick ? 10 : 50;
    const repetitions = ctx.quick ? 1 : 5;
    const ours = await startOurServer();
    const store = await startReferenceProcess(join(ctx.dir, 'store-data'));
    const workspaces: GeneratedWorkspace[] = [];
    const workspace = async (name: string, options: Partial<GeneratedWorkspaceOptions>) => {
      const dir = join(ctx.dir, name);
      mkdirSync(dir);
      const created = await createGeneratedWorkspace({ fixture: 'nx20', dir, projects, ...options });
      workspaces.push(created);
      return created;
    };
    try {
      const oursWorkspace = await workspace('ours', {
        patchNxJson: (nxJson) =>
          (nxJson.tasksRunnerOptions = { default: { runner: 'nx-sealed-cache', options: { url: ours.server.url } } }),
        env: { NX_SEALED_CACHE_ACCESS_TOKEN: ours.token, NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey() },
      });
      // Nx requires the runner from the shared fixture's realpath, which cannot see the workspace's linked package.
      const oursEnv = { NODE_PATH: join(oursWorkspace.root, 'node_modules') };
      const peerWorkspace = await workspace('peer', {
        patchNxJson: (nxJson) =>
          (nxJson.tasksRunnerOptions = { default: { runner: './tools/peer-runner.js', options: {} } }),
        copiedPackages: {
          'nx-remotecache-custom': {
            path: join(PEER_FIXTURE, 'nx-remotecache-custom'),
            dependenciesFrom: PEER_FIXTURE,
          },
        },
        files: {
          'tools/peer-runner.js': readFileSync(join(REPO_ROOT, 'bench', 'peers', 'http-store-runner.js'), 'utf8'),
        },
        env: { BENCH_STORE_URL: store.url },
      });
      const variants: PrimedVariant[] = [];
      for (const variant of [
        { name: LOCAL, workspace: await workspace('local', {}), env: {}, kind: 'local' as const },
        { name: OURS, workspace: oursWorkspace, env: oursEnv, kind: 'remote' as const },
        { name: PEER, workspace: peerWorkspace, env: {}, kind: 'remote' as const },
      ]) {
        variants.push(await primeVariant(ctx, variant));
      }
      const samples = await timeRestores(ctx, variants, repetitions, !ctx.quick);
      const measurements = [LOCAL, OURS, PEER].map((name) => ({ name, unit: 's', summary: samples.summary(name) }));
      const ratio = (a: string, b: string): number => medianOf(measurements, a) / medianOf(measurements, b);
      const comparisons: Comparison[] = [
        {
          what: 'ours sealed vs nx-remotecache-custom unsealed',
          ours: '(b)',
          baseline: '(c)',
          ratio: ratio(OURS, PEER),
          goal: { op: '<=', value: 1.0 },
        },
        { what: 'ours sealed vs local hit', ours: '(b)', baseline: '(a)', ratio: ratio(OURS, LOCAL) },
        { what: 'nx-remotecache-custom vs local hit', ours: '(c)', baseline: '(a)', ratio: ratio(PEER, LOCAL) },
      ];
      return {
        id: this.id,
        title: this.title,
        method:
          `Wall time of \`nx run-many -t build\` (Nx 20.8.2, \`useLegacyCache\`, daemon off) restoring ${projects} projects of about 1 MiB ` +
          `in 20 files each; remote variants after \`nx reset\` with a fresh cache folder and outputs moved aside; ${repetitions} ` +
          `interleaved round(s)${ctx.quick ? '' : ' after one warm-up round'}. The peer is nx-remotecache-custom 20.0.0 with a ` +
          `keep-alive \`node:http\` client against the reference server (bench/peers/http-store-runner.js).`,
        measurements,
        comparisons,
        notes: [],
      };
    } finally {
      for (const created of workspaces) created.dispose();
      store.stop();
      await ours.server.dispose();
    }
  },
};
