/**
 * Sections 8 and 9: the section-1 restore at the two ends users reach: one large artifact (a bundle of about
 * 286 MiB), and a workspace of 200 projects. Nx 24, daemon off; Nx's client straight to our server, unsealed,
 * against our plugin and sealing proxy, with the plugin floor of section 1 alongside.
 */
import type { BenchContext, Section } from '../lib/context';
import { measureNx24Restores } from '../lib/nx24-restore';
import type { Comparison, SectionResult } from '../lib/report';

const MIB = 1024 * 1024;

function comparisons(
  ratio: (a: 'proxy' | 'direct' | 'floor', b: 'direct' | 'floor') => number,
  goal: number,
): Comparison[] {
  return [
    {
      what: 'sealing proxy vs our server direct',
      ours: '(c)',
      baseline: '(b)',
      ratio: ratio('proxy', 'direct'),
      goal: { op: '<=', value: goal },
    },
    {
      what: "the floor: Nx's cost for a plugin with task hooks, our server direct",
      ours: '(f)',
      baseline: '(b)',
      ratio: ratio('floor', 'direct'),
    },
    {
      what: 'sealing proxy vs the floor (what the plugin and proxy add)',
      ours: '(c)',
      baseline: '(f)',
      ratio: ratio('proxy', 'floor'),
      goal: { op: '<=', value: goal },
    },
  ];
}

export const restoreLarge: Section = {
  id: 'restore-large',
  title: '8. Restore, one large artifact',
  async run(ctx: BenchContext): Promise<SectionResult> {
    // 20 files of 14.3 MiB: 286 MiB, 70 % of it text (about 4x compressible), the rest random bytes.
    const bytesPerFile = ctx.quick ? 2 * MIB : Math.floor((14.3 * MIB) / 4) * 4;
    const repetitions = ctx.quick ? 1 : 4;
    const { measurements, ratio } = await measureNx24Restores(ctx, {
      projects: 1,
      repetitions,
      bytesPerFile,
      ways: ['direct', 'proxy', 'floor'],
    });
    const mib = Math.round((20 * bytesPerFile) / MIB);
    return {
      id: this.id,
      title: this.title,
      method:
        `Wall time of \`nx run-many -t build\` (Nx 24.0.6, daemon off) restoring one project whose output is ${mib} MiB ` +
        `in 20 files (14 text, 6 random); after \`nx reset\` with a fresh cache folder and outputs moved aside; ` +
        `${repetitions} interleaved round(s)${ctx.quick ? '' : ' after one warm-up round'}; the proxy warm.`,
      measurements,
      comparisons: comparisons(ratio, 1.2),
      notes: [],
    };
  },
};

export const restore200: Section = {
  id: 'restore-200',
  title: '9. Restore, 200 projects',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const projects = ctx.quick ? 20 : 200;
    const repetitions = ctx.quick ? 1 : 4;
    const { measurements, ratio } = await measureNx24Restores(ctx, {
      projects,
      repetitions,
      ways: ['direct', 'proxy', 'floor'],
    });
    return {
      id: this.id,
      title: this.title,
      method:
        `Wall time of \`nx run-many -t build\` (Nx 24.0.6, daemon off) restoring ${projects} projects of about 1 MiB in 20 ` +
        `files each, as section 1; ${repetitions} interleaved round(s)${ctx.quick ? '' : ' after one warm-up round'}; the proxy warm.`,
      measurements,
      comparisons: comparisons(ratio, 1.1),
      notes: [],
    };
  },
};
