/**
 * Section 1: Nx 24 restoring a generated workspace entirely from a remote cache: the local cache (floor), Nx's
 * client straight to our server, the same behind a plugin whose hooks only point Nx at it (what Nx itself costs
 * any plugin), Nx through our plugin and sealing proxy, Nx's client to the reference server, and the proxy with
 * signed entries required, for what verification costs on top of sealing.
 */
import type { BenchContext, Section } from '../lib/context';
import { measureNx24Restores } from '../lib/nx24-restore';
import type { Comparison, SectionResult } from '../lib/report';

export const restoreNx24: Section = {
  id: 'restore-nx24',
  title: '1. Restore, Nx 24',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const projects = ctx.quick ? 10 : 50;
    const repetitions = ctx.quick ? 1 : 5;
    const { measurements, ratio } = await measureNx24Restores(ctx, {
      projects,
      repetitions,
      ways: ['local', 'direct', 'proxy', 'reference', 'signed', 'floor'],
    });
    const comparisons: Comparison[] = [
      {
        what: 'our server vs reference server (no sealing)',
        ours: '(b)',
        baseline: '(d)',
        ratio: ratio('direct', 'reference'),
        goal: { op: '<=', value: 1.02 },
      },
      {
        what: 'sealing proxy vs our server direct',
        ours: '(c)',
        baseline: '(b)',
        ratio: ratio('proxy', 'direct'),
        goal: { op: '<=', value: 1.1 },
      },
      {
        what: 'signed and sealed through the proxy vs our server direct (the proxy goal)',
        ours: '(e)',
        baseline: '(b)',
        ratio: ratio('signed', 'direct'),
        goal: { op: '<=', value: 1.1 },
      },
      {
        what: "the floor: Nx's cost for a plugin with task hooks (two worker processes a run), our server direct",
        ours: '(f)',
        baseline: '(b)',
        ratio: ratio('floor', 'direct'),
      },
      {
        what: 'sealing proxy vs the floor (what the plugin and proxy add)',
        ours: '(c)',
        baseline: '(f)',
        ratio: ratio('proxy', 'floor'),
        goal: { op: '<=', value: 1.1 },
      },
      {
        what: 'signed and sealed through the proxy vs the floor',
        ours: '(e)',
        baseline: '(f)',
        ratio: ratio('signed', 'floor'),
        goal: { op: '<=', value: 1.1 },
      },
      { what: 'verification on top of sealing', ours: '(e)', baseline: '(c)', ratio: ratio('signed', 'proxy') },
      { what: 'sealed remote restore vs local hit', ours: '(c)', baseline: '(a)', ratio: ratio('proxy', 'local') },
      {
        what: 'reference remote restore vs local hit',
        ours: '(d)',
        baseline: '(a)',
        ratio: ratio('reference', 'local'),
      },
    ];
    return {
      id: this.id,
      title: this.title,
      method:
        `Wall time of \`nx run-many -t build\` (Nx 24.0.6, daemon off) restoring ${projects} projects of about 1 MiB in 20 files each; ` +
        `remote variants run after \`nx reset\` with a fresh cache folder and outputs moved aside; ${repetitions} interleaved round(s)` +
        `${ctx.quick ? '' : ' after one warm-up round'}. The proxy is warm (started by the priming run), as on a developer machine.`,
      measurements,
      comparisons,
      notes: [
        'Daemon off and plugin isolation on (the defaults), Nx starts two worker processes a run for any plugin with ' +
          "task hooks: (f) / (b) is that floor, out of the plugin's reach; (c) / (f) is what ours adds to it.",
      ],
    };
  },
};
