/**
 * Nx 24 restoring a generated workspace entirely from a remote cache, some of six ways (sections 1, 8 and 9): the
 * local cache, Nx's client straight to our server, the same behind a plugin whose hooks only point Nx at it (Nx's
 * floor for any plugin), Nx through our plugin and sealing proxy, Nx's client to the reference server, and the proxy
 * with signed entries required.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '../../src/crypto';
import { generateSigningKey } from '../../src/crypto/signing-keys';
import type { BenchContext } from './context';
import { createGeneratedWorkspace, type GeneratedWorkspace, type RunEnv } from './generated-workspace';
import { POINTER_PLUGIN_NAME, writePointerPluginPackage } from './noop-plugin';
import { type Measurement, medianOf } from './report';
import { type PrimedVariant, primeVariant, stopProxies, timeRestores } from './restore-runs';
import { type ReferenceProcess, startOurServer, startReferenceProcess } from './servers';

export type Nx24Way = 'local' | 'direct' | 'floor' | 'proxy' | 'reference' | 'signed';

export const NX24_WAYS: Record<Nx24Way, string> = {
  local: '(a) Nx local cache hit',
  direct: '(b) Nx client -> our server, unsealed',
  proxy: '(c) Nx -> plugin/proxy -> our server, sealed',
  reference: '(d) Nx client -> reference server',
  signed: '(e) Nx -> plugin/proxy -> our server, sealed and signed, signatures required',
  floor: "(f) as (b), a plugin whose hooks only point Nx at our server (Nx's floor for a plugin)",
};

export interface Nx24RestoreOptions {
  projects: number;
  repetitions: number;
  /** In the order they are primed; rounds rotate them. */
  ways: Nx24Way[];
  bytesPerFile?: number;
}

export interface Nx24RestoreResult {
  measurements: Measurement[];
  /** Median of `a` over median of `b`. */
  ratio(a: Nx24Way, b: Nx24Way): number;
}

function selfHostedEnv(url: string, token?: string): RunEnv {
  return { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token };
}

export async function measureNx24Restores(ctx: BenchContext, options: Nx24RestoreOptions): Promise<Nx24RestoreResult> {
  const ours = await startOurServer();
  const proxyStateDir = join(ctx.dir, 'proxy-state');
  const workspaces: GeneratedWorkspace[] = [];
  let reference: ReferenceProcess | undefined;
  const workspace = async (name: string, patch?: (nxJson: Record<string, unknown>) => void, extra?: object) => {
    const dir = join(ctx.dir, name);
    mkdirSync(dir);
    const created = await createGeneratedWorkspace({
      fixture: 'nx24',
      dir,
      projects: options.projects,
      bytesPerFile: options.bytesPerFile,
      patchNxJson: patch,
      ...extra,
    });
    workspaces.push(created);
    return created;
  };
  const proxyEnv = (token: string): RunEnv => ({
    NX_SEALED_CACHE_ACCESS_TOKEN: token,
    NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey(),
    NX_SEALED_CACHE_PROXY_DIR: proxyStateDir,
    // Stopped at the end anyway; this only bounds a proxy left behind by an interrupted run.
    NX_SEALED_CACHE_PROXY_IDLE_MS: '300000',
  });
  // Each remote way stores under a workspace of its own on our server: the generated projects hash alike.
  const variantOf = async (way: Nx24Way): Promise<Omit<PrimedVariant, 'primedCacheDir'>> => {
    const name = NX24_WAYS[way];
    switch (way) {
      case 'local':
        return { name, workspace: await workspace('local'), env: {}, kind: 'local' };
      case 'direct':
        return {
          name,
          workspace: await workspace('direct'),
          env: selfHostedEnv(ours.server.url, ours.token),
          kind: 'remote',
        };
      case 'floor': {
        const own = await ours.addWorkspace();
        const pointer = writePointerPluginPackage(join(ctx.dir, 'packages'), ours.server.url, own.token);
        const created = await workspace('floor', (nxJson) => (nxJson.plugins = [POINTER_PLUGIN_NAME]), {
          copiedPackages: pointer,
        });
        return { name, workspace: created, env: {}, kind: 'remote' };
      }
      case 'proxy': {
        const own = await ours.addWorkspace();
        const pluginOptions = { url: ours.server.url, workspaceId: own.id };
        const created = await workspace(
          'proxy',
          (nxJson) => (nxJson.plugins = [{ plugin: 'nx-sealed-cache', options: pluginOptions }]),
          { env: proxyEnv(own.token) },
        );
        return { name, workspace: created, env: {}, kind: 'remote' };
      }
      case 'reference':
        reference ??= await startReferenceProcess(join(ctx.dir, 'reference-data'));
        return { name, workspace: await workspace('reference'), env: selfHostedEnv(reference.url), kind: 'remote' };
      case 'signed': {
        const own = await ours.addWorkspace();
        const signer = generateSigningKey();
        const signedOptions = {
          url: ours.server.url,
          workspaceId: own.id,
          trustedSigners: [{ keyId: signer.keyId, publicKey: signer.publicKeyText }],
        };
        const created = await workspace(
          'signed',
          (nxJson) => (nxJson.plugins = [{ plugin: 'nx-sealed-cache', options: signedOptions }]),
          { env: { ...proxyEnv(own.token), NX_SEALED_CACHE_SIGNING_KEY: signer.privateKeyText } },
        );
        return { name, workspace: created, env: {}, kind: 'remote' };
      }
    }
  };
  try {
    const variants: PrimedVariant[] = [];
    for (const way of options.ways) variants.push(await primeVariant(ctx, await variantOf(way)));
    const samples = await timeRestores(ctx, variants, options.repetitions, !ctx.quick);
    const measurements = options.ways.map((way) => ({
      name: NX24_WAYS[way],
      unit: 's',
      summary: samples.summary(NX24_WAYS[way]),
    }));
    return {
      measurements,
      ratio: (a, b) => medianOf(measurements, NX24_WAYS[a]) / medianOf(measurements, NX24_WAYS[b]),
    };
  } finally {
    stopProxies(proxyStateDir);
    for (const created of workspaces) created.dispose();
    reference?.stop();
    await ours.server.dispose();
  }
}
