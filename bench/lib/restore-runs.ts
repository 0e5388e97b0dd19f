/** Shared by the two restore sections: prime each variant once, then time interleaved restores. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context';
import { type GeneratedWorkspace, type RunEnv, assertAllOutcomes } from './generated-workspace';
import { SampleSet, rotated } from './stats';

export interface RestoreVariant {
  name: string;
  workspace: GeneratedWorkspace;
  env: RunEnv;
  /** `local`: the floor, a local cache hit; `remote`: every task restored from a remote cache after `nx reset`. */
  kind: 'local' | 'remote';
}

export interface PrimedVariant extends RestoreVariant {
  /** The local cache the priming run filled (the local variant keeps using it). */
  primedCacheDir: string;
}

/** Builds every project once (all misses), storing to the variant's remote cache or filling the local one. */
export async function primeVariant(ctx: BenchContext, variant: RestoreVariant): Promise<PrimedVariant> {
  const cacheDir = variant.workspace.freshCacheDir();
  const timing = await variant.workspace.build(cacheDir, variant.env);
  assertAllOutcomes(timing, variant.workspace.projectNames, 'miss', `${variant.name} priming`);
  ctx.log(`  primed ${variant.name} in ${(timing.ms / 1000).toFixed(1)} s`);
  return { ...variant, primedCacheDir: cacheDir };
}

async function timeRestore(variant: PrimedVariant): Promise<number> {
  const { workspace } = variant;
  let cacheDir = variant.primedCacheDir;
  if (variant.kind === 'remote') {
    cacheDir = workspace.freshCacheDir();
    await workspace.reset(cacheDir);
  }
  workspace.moveOutputsAside();
  const timing = await workspace.build(cacheDir, variant.env);
  assertAllOutcomes(timing, workspace.projectNames, variant.kind, variant.name);
  return timing.ms;
}

/** `repetitions` rounds, the variants rotated each round; an unrecorded warm-up round first unless `warmUp` is false. */
export async function timeRestores(
  ctx: BenchContext,
  variants: PrimedVariant[],
  repetitions: number,
  warmUp: boolean,
): Promise<SampleSet> {
  const samples = new SampleSet();
  for (let round = warmUp ? -1 : 0; round < repetitions; round++) {
    for (const variant of rotated(variants, Math.max(round, 0))) {
      const ms = await timeRestore(variant);
      if (round >= 0) samples.add(variant.name, ms / 1000);
      ctx.log(
        `  ${round < 0 ? 'warm-up' : `round ${round + 1}/${repetitions}`}: ${variant.name} ${(ms / 1000).toFixed(2)} s`,
      );
    }
  }
  return samples;
}

/** Stops every proxy the plugin started under `stateDir` (they would otherwise exit when idle). */
export function stopProxies(stateDir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(stateDir).filter((name) => name.startsWith('proxy-') && name.endsWith('.json'));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const { pid } = JSON.parse(readFileSync(join(stateDir, name), 'utf8')) as { pid: number };
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
}
