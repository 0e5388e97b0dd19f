/**
 * Section 7: what the plugin costs a run that has nothing to fetch: every task a local cache hit, Nx 24, with and
 * without the plugin in nx.json. A developer pays this on every `nx` command, cached or not.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '../../src/crypto';
import type { BenchContext, Section } from '../lib/context';
import { createGeneratedWorkspace, type GeneratedWorkspace } from '../lib/generated-workspace';
import {
  NOOP_PLUGIN_NAME,
  POINTER_PLUGIN_NAME,
  writeNoopPluginPackage,
  writePointerPluginPackage,
} from '../lib/noop-plugin';
import { type Comparison, type SectionResult, medianOf } from '../lib/report';
import { type PrimedVariant, primeVariant, stopProxies, timeRestores } from '../lib/restore-runs';
import { startOurServer } from '../lib/servers';

const WITHOUT = '(a) all local hits, no plugin';
const WITH = '(b) all local hits, with the plugin';
const NOOP = '(c) all local hits, a plugin whose hooks do nothing';
const DAEMON_WITHOUT = '(d) as (a), daemon on';
const DAEMON_WITH = '(e) as (b), daemon on';
const DAEMON = { NX_DAEMON: 'true' };
const INPROC_WITHOUT = '(f) as (a), plugin isolation off';
const INPROC_WITH = '(g) as (b), plugin isolation off';
const IN_PROCESS = { NX_ISOLATE_PLUGINS: 'false' };
const DAEMON_NOOP = '(h) as (c), daemon on';
const INPROC_POINTER = '(i) plugin isolation off, a plugin whose hooks only point Nx at our server';

export const pluginFixedCost: Section = {
  id: 'plugin-fixed-cost',
  title: '7. Plugin fixed cost',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const projects = ctx.quick ? 10 : 20;
    const repetitions = ctx.quick ? 2 : 7;
    const ours = await startOurServer();
    const sealed = await ours.addWorkspace();
    const proxyStateDir = join(ctx.dir, 'proxy-state');
    const workspaces: GeneratedWorkspace[] = [];
    const daemonWorkspaces: GeneratedWorkspace[] = [];
    const workspace = async (
      name: string,
      patch?: (nxJson: Record<string, unknown>) => void,
      copiedPackages?: Record<string, { path: string }>,
    ) => {
      const dir = join(ctx.dir, name);
      mkdirSync(dir);
      const created = await createGeneratedWorkspace({
        fixture: 'nx24',
        dir,
        projects,
        patchNxJson: patch,
        copiedPackages,
        env: {
          NX_SEALED_CACHE_ACCESS_TOKEN: sealed.token,
          NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey(),
          NX_SEALED_CACHE_PROXY_DIR: proxyStateDir,
          NX_SEALED_CACHE_PROXY_IDLE_MS: '300000',
        },
      });
      workspaces.push(created);
      return created;
    };
    const daemonWorkspace = async (
      name: string,
      patch?: (nxJson: Record<string, unknown>) => void,
      copiedPackages?: Record<string, { path: string }>,
    ) => {
      const created = await workspace(name, patch, copiedPackages);
      daemonWorkspaces.push(created);
      return created;
    };
    const noopPackage = writeNoopPluginPackage(ctx.dir);
    const pointerPackage = writePointerPluginPackage(ctx.dir, ours.server.url, sealed.token);
    try {
      const options = { url: ours.server.url, workspaceId: sealed.id };
      const variants: PrimedVariant[] = [];
      for (const variant of [
        { name: WITHOUT, workspace: await workspace('without'), env: {}, kind: 'local' as const },
        {
          name: WITH,
          workspace: await workspace('with', (nxJson) => (nxJson.plugins = [{ plugin: 'nx-sealed-cache', options }])),
          env: {},
          kind: 'local' as const,
        },
        {
          name: NOOP,
          workspace: await workspace('noop', (nxJson) => (nxJson.plugins = [NOOP_PLUGIN_NAME]), noopPackage),
          env: {},
          kind: 'local' as const,
        },
        {
          name: DAEMON_WITHOUT,
          workspace: await daemonWorkspace('daemon-without'),
          env: DAEMON,
          kind: 'local' as const,
        },
        {
          name: DAEMON_WITH,
          workspace: await daemonWorkspace(
            'daemon-with',
            (nxJson) => (nxJson.plugins = [{ plugin: 'nx-sealed-cache', options }]),
          ),
          env: DAEMON,
          kind: 'local' as const,
        },
        {
          name: DAEMON_NOOP,
          workspace: await daemonWorkspace(
            'daemon-noop',
            (nxJson) => (nxJson.plugins = [NOOP_PLUGIN_NAME]),
            noopPackage,
          ),
          env: DAEMON,
          kind: 'local' as const,
        },
        { name: INPROC_WITHOUT, workspace: await workspace('inproc-without'), env: IN_PROCESS, kind: 'local' as const },
        {
          name: INPROC_WITH,
          workspace: await workspace(
            'inproc-with',
            (nxJson) => (nxJson.plugins = [{ plugin: 'nx-sealed-cache', options }]),
          ),
          env: IN_PROCESS,
          kind: 'local' as const,
        },
        {
          name: INPROC_POINTER,
          workspace: await workspace(
            'inproc-pointer',
            (nxJson) => (nxJson.plugins = [POINTER_PLUGIN_NAME]),
            pointerPackage,
          ),
          env: IN_PROCESS,
          kind: 'local' as const,
        },
      ]) {
        variants.push(await primeVariant(ctx, variant));
      }
      const samples = await timeRestores(ctx, variants, repetitions, !ctx.quick);
      const measurements = variants.map(({ name }) => ({ name, unit: 's', summary: samples.summary(name) }));
      const comparisons: Comparison[] = [
        {
          what: 'all-local-hit run with the plugin vs without',
          ours: '(b)',
          baseline: '(a)',
          ratio: medianOf(measurements, WITH) / medianOf(measurements, WITHOUT),
          goal: { op: '<=', value: 1.05 },
        },
        {
          what: 'the floor: a plugin with empty hooks vs no plugin (Nx starts a worker to learn the hooks, another to run them)',
          ours: '(c)',
          baseline: '(a)',
          ratio: medianOf(measurements, NOOP) / medianOf(measurements, WITHOUT),
        },
        {
          what: 'all-local-hit run with the plugin vs a plugin with empty hooks (what the plugin itself adds)',
          ours: '(b)',
          baseline: '(c)',
          ratio: medianOf(measurements, WITH) / medianOf(measurements, NOOP),
          goal: { op: '<=', value: 1.05 },
        },
        {
          what: 'daemon on (a developer machine): with the plugin vs without',
          ours: '(e)',
          baseline: '(d)',
          ratio: medianOf(measurements, DAEMON_WITH) / medianOf(measurements, DAEMON_WITHOUT),
          goal: { op: '<=', value: 1.05 },
        },
        {
          what: 'the floor, daemon on: a plugin with empty hooks vs no plugin',
          ours: '(h)',
          baseline: '(d)',
          ratio: medianOf(measurements, DAEMON_NOOP) / medianOf(measurements, DAEMON_WITHOUT),
        },
        {
          what: 'daemon on: with the plugin vs a plugin with empty hooks (what the plugin itself adds)',
          ours: '(e)',
          baseline: '(h)',
          ratio: medianOf(measurements, DAEMON_WITH) / medianOf(measurements, DAEMON_NOOP),
          goal: { op: '<=', value: 1.05 },
        },
        {
          what: 'plugin isolation off (NX_ISOLATE_PLUGINS=false): with the plugin vs without',
          ours: '(g)',
          baseline: '(f)',
          ratio: medianOf(measurements, INPROC_WITH) / medianOf(measurements, INPROC_WITHOUT),
          goal: { op: '<=', value: 1.05 },
        },
        {
          what: 'the floor, plugin isolation off: a plugin that only points Nx at a remote cache vs no plugin',
          ours: '(i)',
          baseline: '(f)',
          ratio: medianOf(measurements, INPROC_POINTER) / medianOf(measurements, INPROC_WITHOUT),
        },
        {
          what: 'plugin isolation off: with the plugin vs a plugin that only points Nx at a remote cache (what the plugin itself adds)',
          ours: '(g)',
          baseline: '(i)',
          ratio: medianOf(measurements, INPROC_WITH) / medianOf(measurements, INPROC_POINTER),
          goal: { op: '<=', value: 1.05 },
        },
      ];
      return {
        id: this.id,
        title: this.title,
        method:
          `Wall time of \`nx run-many -t build\` (Nx 24.0.6) over ${projects} projects whose every task is a ` +
          `local cache hit: without a plugin, with ours in nx.json (its proxy warm, its server up), and with an installed plugin ` +
          `whose two task hooks do nothing, daemon off; then without and with ours, daemon on (started by the priming ` +
          `run, stopped by \`nx reset\` at the end), and the empty-hooks plugin daemon on; and without and with ours, daemon off, \`NX_ISOLATE_PLUGINS=false\`; ` +
          `${repetitions} ` +
          `interleaved round(s)${ctx.quick ? '' : ' after one warm-up round'}.`,
        measurements,
        comparisons,
        notes: [
          'Daemon off, any plugin with task hooks costs Nx two worker processes per run (one to learn its hooks, ' +
            "which exits at once, one to run them): (c) / (a) is that floor, out of the plugin's reach.",
        ],
      };
    } finally {
      for (const created of daemonWorkspaces) await created.reset(created.freshCacheDir()).catch(() => undefined);
      stopProxies(proxyStateDir);
      for (const created of workspaces) created.dispose();
      await ours.server.dispose();
    }
  },
};
