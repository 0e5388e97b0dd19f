/**
 * Section 7: what the plugin costs a run that has nothing to fetch: every task a local cache hit, Nx 24, with and
 * without the plugin in nx.json. A developer pays this on every `nx` command, cached or not.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '../../src/crypto';
import type { BenchContext, Section } from '../lib/context';
import { createGeneratedWorkspace, type GeneratedWorkspace } from '../lib/generated-workspace';
import { type Comparison, type SectionResult, medianOf } from '../lib/report';
import { type PrimedVariant, primeVariant, stopProxies, timeRestores } from '../lib/restore-runs';
import { startOurServer } from '../lib/servers';

const WITHOUT = '(a) all local hits, no plugin';
const WITH = '(b) all local hits, with the plugin';

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
    const workspace = async (name: string, patch?: (nxJson: Record<string, unknown>) => void) => {
      const dir = join(ctx.dir, name);
      mkdirSync(dir);
      const created = await createGeneratedWorkspace({
        fixture: 'nx24',
        dir,
        projects,
        patchNxJson: patch,
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
      ]) {
        variants.push(await primeVariant(ctx, variant));
      }
      const samples = await timeRestores(ctx, variants, repetitions, !ctx.quick);
      const measurements = [WITHOUT, WITH].map((name) => ({ name, unit: 's', summary: samples.summary(name) }));
      const comparisons: Comparison[] = [
        {
          what: 'all-local-hit run with the plugin vs without',
          ours: '(b)',
          baseline: '(a)',
          ratio: medianOf(measurements, WITH) / medianOf(measurements, WITHOUT),
          goal: { op: '<=', value: 1.05 },
        },
      ];
      return {
        id: this.id,
        title: this.title,
        method:
          `Wall time of \`nx run-many -t build\` (Nx 24.0.6, daemon off) over ${projects} projects whose every task is a ` +
          `local cache hit, with the plugin in nx.json (its proxy warm, its server up) and without; ${repetitions} ` +
          `interleaved round(s)${ctx.quick ? '' : ' after one warm-up round'}.`,
        measurements,
        comparisons,
        notes: ['Daemon on is not measured yet.'],
      };
    } finally {
      stopProxies(proxyStateDir);
      for (const created of workspaces) created.dispose();
      await ours.server.dispose();
    }
  },
};
