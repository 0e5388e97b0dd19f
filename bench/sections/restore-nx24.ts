/**
 * Section 1: Nx 24 restoring a generated workspace entirely from a remote cache, four ways: the local cache (floor),
 * Nx's client straight to our server, Nx through our plugin and sealing proxy, and Nx's client to the reference server;
 * plus the proxy with signed entries required, for what verification costs on top of sealing.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '../../src/crypto';
import { generateSigningKey } from '../../src/crypto/signing-keys';
import type { BenchContext, Section } from '../lib/context';
import { createGeneratedWorkspace, type GeneratedWorkspace, type RunEnv } from '../lib/generated-workspace';
import { type Comparison, type SectionResult, medianOf } from '../lib/report';
import { type PrimedVariant, primeVariant, stopProxies, timeRestores } from '../lib/restore-runs';
import { startOurServer, startReferenceProcess } from '../lib/servers';

const LOCAL = '(a) Nx local cache hit';
const DIRECT = '(b) Nx client -> our server, unsealed';
const PROXY = '(c) Nx -> plugin/proxy -> our server, sealed';
const REFERENCE = '(d) Nx client -> reference server';
const SIGNED = '(e) Nx -> plugin/proxy -> our server, sealed and signed, signatures required';

function selfHostedEnv(url: string, token?: string): RunEnv {
  return { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token };
}

export const restoreNx24: Section = {
  id: 'restore-nx24',
  title: '1. Restore, Nx 24',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const projects = ctx.quick ? 10 : 50;
    const repetitions = ctx.quick ? 1 : 5;
    const ours = await startOurServer();
    const sealedWorkspace = await ours.addWorkspace();
    const signedWorkspace = await ours.addWorkspace();
    const reference = await startReferenceProcess(join(ctx.dir, 'reference-data'));
    const proxyStateDir = join(ctx.dir, 'proxy-state');
    const workspaces: GeneratedWorkspace[] = [];
    const workspace = async (name: string, patch?: (nxJson: Record<string, unknown>) => void, env?: RunEnv) => {
      const dir = join(ctx.dir, name);
      mkdirSync(dir);
      const created = await createGeneratedWorkspace({ fixture: 'nx24', dir, projects, patchNxJson: patch, env });
      workspaces.push(created);
      return created;
    };
    try {
      const pluginOptions = { url: ours.server.url, workspaceId: sealedWorkspace.id };
      const proxyEnv: RunEnv = {
        NX_SEALED_CACHE_ACCESS_TOKEN: sealedWorkspace.token,
        NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey(),
        NX_SEALED_CACHE_PROXY_DIR: proxyStateDir,
        // Stopped at the end anyway; this only bounds a proxy left behind by an interrupted run.
        NX_SEALED_CACHE_PROXY_IDLE_MS: '300000',
      };
      const signer = generateSigningKey();
      const signedOptions = {
        url: ours.server.url,
        workspaceId: signedWorkspace.id,
        trustedSigners: [{ keyId: signer.keyId, publicKey: signer.publicKeyText }],
      };
      const signedEnv: RunEnv = {
        ...proxyEnv,
        NX_SEALED_CACHE_ACCESS_TOKEN: signedWorkspace.token,
        NX_SEALED_CACHE_SIGNING_KEY: signer.privateKeyText,
      };
      const variants: PrimedVariant[] = [];
      for (const variant of [
        { name: LOCAL, workspace: await workspace('local'), env: {}, kind: 'local' as const },
        {
          name: DIRECT,
          workspace: await workspace('direct'),
          env: selfHostedEnv(ours.server.url, ours.token),
          kind: 'remote' as const,
        },
        {
          name: PROXY,
          workspace: await workspace(
            'proxy',
            (nxJson) => (nxJson.plugins = [{ plugin: 'nx-sealed-cache', options: pluginOptions }]),
            proxyEnv,
          ),
          env: {},
          kind: 'remote' as const,
        },
        {
          name: REFERENCE,
          workspace: await workspace('reference'),
          env: selfHostedEnv(reference.url),
          kind: 'remote' as const,
        },
        {
          name: SIGNED,
          workspace: await workspace(
            'signed',
            (nxJson) => (nxJson.plugins = [{ plugin: 'nx-sealed-cache', options: signedOptions }]),
            signedEnv,
          ),
          env: {},
          kind: 'remote' as const,
        },
      ]) {
        variants.push(await primeVariant(ctx, variant));
      }
      const samples = await timeRestores(ctx, variants, repetitions, !ctx.quick);
      const measurements = [LOCAL, DIRECT, PROXY, REFERENCE, SIGNED].map((name) => ({
        name,
        unit: 's',
        summary: samples.summary(name),
      }));
      const ratio = (a: string, b: string): number => medianOf(measurements, a) / medianOf(measurements, b);
      const comparisons: Comparison[] = [
        {
          what: 'our server vs reference server (no sealing)',
          ours: '(b)',
          baseline: '(d)',
          ratio: ratio(DIRECT, REFERENCE),
          goal: { op: '<=', value: 1.02 },
        },
        {
          what: 'sealing proxy vs our server direct',
          ours: '(c)',
          baseline: '(b)',
          ratio: ratio(PROXY, DIRECT),
          goal: { op: '<=', value: 1.1 },
        },
        {
          what: 'signed and sealed through the proxy vs our server direct (the proxy goal)',
          ours: '(e)',
          baseline: '(b)',
          ratio: ratio(SIGNED, DIRECT),
          goal: { op: '<=', value: 1.1 },
        },
        { what: 'verification on top of sealing', ours: '(e)', baseline: '(c)', ratio: ratio(SIGNED, PROXY) },
        { what: 'sealed remote restore vs local hit', ours: '(c)', baseline: '(a)', ratio: ratio(PROXY, LOCAL) },
        { what: 'reference remote restore vs local hit', ours: '(d)', baseline: '(a)', ratio: ratio(REFERENCE, LOCAL) },
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
        notes: [],
      };
    } finally {
      stopProxies(proxyStateDir);
      for (const created of workspaces) created.dispose();
      reference.stop();
      await ours.server.dispose();
    }
  },
};
