/**
 * Section 5: one large artifact stored and restored through the sealing proxy, as Nx's client does it (PUT with
 * Content-Length, then GET), with the proxy started by the plugin's own hook; peak RSS (VmHWM) of proxy and server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { request } from 'undici';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';
import { END, nxTail, rawHeader, rawRecords } from '../../tests/hardening/support/nx-tar-forms';
import { generateEncryptionKey } from '../../src/crypto';
import type { BenchContext, Section } from '../lib/context';
import type { SectionResult } from '../lib/report';
import { stopProxies } from '../lib/restore-runs';
import { startOurServer } from '../lib/servers';
import { summarize } from '../lib/stats';

type PluginModule = typeof import('../../src/plugin');

const MIB = 1024 * 1024;
const LIMIT_MIB = 256;
const HASH = '4242424242424242424';

/** Peak resident set size of a live process, from /proc (Linux). */
function peakRssMiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/**
 * An artifact in the exact tar form Nx writes (GNU headers for `dist/big/` and one output file of `payloadBytes`
 * random bytes, then v7 `terminalOutput` and `code`), gzipped into `file`: the proxy serves nothing else. Gzip
 * level 0, since random bytes do not compress and Nx's own packing speed is not what this section measures.
 */
async function writeArtifact(file: string, payloadBytes: number, pattern: Buffer): Promise<number> {
  const tar = new PassThrough();
  const written = pipeline(tar, createGzip({ level: 0 }), createWriteStream(file));
  const send = async (chunk: Buffer): Promise<void> => {
    if (!tar.write(chunk)) await once(tar, 'drain');
  };
  for (const record of [...rawRecords({ name: 'dist', type: '5' }), ...rawRecords({ name: 'dist/big', type: '5' })])
    await send(record);
  await send(rawHeader({ name: 'dist/big/artifact.bin', type: '0' }, payloadBytes));
  for (let sent = 0; sent < payloadBytes; sent += pattern.length)
    await send(pattern.subarray(0, Math.min(pattern.length, payloadBytes - sent)));
  await send(Buffer.alloc((512 - (payloadBytes % 512)) % 512));
  for (const record of [...nxTail(0, 'built big\n'), END]) await send(record);
  tar.end();
  await written;
  return statSync(file).size;
}

async function sha256Of(file: string): Promise<string> {
  const digest = createHash('sha256');
  await pipeline(createReadStream(file), digest);
  return digest.digest('hex');
}

function proxyPid(stateDir: string): number {
  const stateFile = readdirSync(stateDir).find((name) => name.startsWith('proxy-') && name.endsWith('.json'));
  if (!stateFile) throw new Error('the plugin started no proxy');
  return (JSON.parse(readFileSync(join(stateDir, stateFile), 'utf8')) as { pid: number }).pid;
}

/** Runs the plugin's preTasksExecution as Nx would, and returns the proxy URL and run secret it put in the env. */
async function startRun(
  plugin: PluginModule,
  options: object,
  workspaceRoot: string,
  env: Record<string, string>,
): Promise<{ url: string; secret: string }> {
  Object.assign(process.env, env);
  await plugin.preTasksExecution(options, { workspaceRoot, argv: ['nx', 'run-many', '-t', 'build'] });
  const url = process.env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER;
  const secret = process.env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN;
  if (!url || !secret) throw new Error('preTasksExecution set no proxy URL');
  return { url, secret };
}

export const largeArtifact: Section = {
  id: 'large-artifact',
  title: '5. Large artifacts',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const total = (ctx.quick ? 64 : 1024) * MIB;
    const label = ctx.quick ? '64 MiB' : '1 GiB';
    // The built plugin, so the proxy it spawns is the shipped dist/src/proxy/proxy-main.js.
    const plugin = (await import(join(REPO_ROOT, 'dist', 'src', 'plugin'))) as PluginModule;
    const ours = await startOurServer();
    const workspaceRoot = join(ctx.dir, 'workspace');
    const stateDir = join(ctx.dir, 'proxy-state');
    mkdirSync(workspaceRoot);
    const savedEnv = { ...process.env };
    const env = {
      NX_SEALED_CACHE_ACCESS_TOKEN: ours.token,
      NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey(),
      NX_SEALED_CACHE_PROXY_DIR: stateDir,
      NX_SEALED_CACHE_PROXY_IDLE_MS: '300000',
      HOME: ctx.dir,
    };
    const options = { url: ours.server.url, workspaceId: ours.boot.workspace.id, timeoutMs: 600_000 };
    try {
      const proxy = await startRun(plugin, options, workspaceRoot, env);
      const auth = { authorization: `Bearer ${proxy.secret}` };
      const artifactFile = join(ctx.dir, 'artifact.tar.gz');
      const artifactBytes = await writeArtifact(artifactFile, total, randomBytes(MIB));
      const sentDigest = await sha256Of(artifactFile);
      // As Nx does: the proxy takes an upload only for a hash this run looked up and missed.
      const miss = await request(`${proxy.url}/v1/cache/${HASH}`, { headers: auth });
      await miss.body.dump();
      if (miss.statusCode !== 404) throw new Error(`GET before the upload answered ${miss.statusCode}, not a miss`);
      let started = Date.now();
      const put = await request(`${proxy.url}/v1/cache/${HASH}`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(artifactBytes) },
        body: createReadStream(artifactFile),
        headersTimeout: 600_000,
        bodyTimeout: 600_000,
      });
      await put.body.dump();
      if (put.statusCode !== 200) throw new Error(`PUT through the proxy answered ${put.statusCode}`);
      const putSeconds = (Date.now() - started) / 1000;
      started = Date.now();
      const got = await request(`${proxy.url}/v1/cache/${HASH}`, {
        headers: auth,
        headersTimeout: 600_000,
        bodyTimeout: 600_000,
      });
      const received = createHash('sha256');
      let receivedBytes = 0;
      for await (const chunk of got.body) {
        received.update(chunk as Buffer);
        receivedBytes += (chunk as Buffer).length;
      }
      const getSeconds = (Date.now() - started) / 1000;
      if (got.statusCode !== 200 || receivedBytes !== artifactBytes || received.digest('hex') !== sentDigest) {
        await plugin.postTasksExecution(options, { workspaceRoot, argv: ['nx', 'run-many', '-t', 'build'] });
        const serverLog = ours.server
          .output()
          .split('\n')
          .filter((line) => line.includes('/v1/cache/') || line.includes('"level":40') || line.includes('"level":50'));
        throw new Error(
          `GET through the proxy: status ${got.statusCode}, ${receivedBytes} of ${artifactBytes} bytes, or different content\n${serverLog.slice(-8).join('\n')}`,
        );
      }
      const proxyPeak = peakRssMiB(proxyPid(stateDir));
      const serverPeak = peakRssMiB(ours.pid);
      await plugin.postTasksExecution(options, { workspaceRoot, argv: ['nx', 'run-many', '-t', 'build'] });
      ctx.log(
        `  PUT ${putSeconds.toFixed(1)} s, GET ${getSeconds.toFixed(1)} s, peak RSS proxy ${proxyPeak.toFixed(0)} MiB, server ${serverPeak.toFixed(0)} MiB`,
      );
      return {
        id: this.id,
        title: this.title,
        method:
          `One ${label} artifact (a gzip tar like Nx's payload, holding ${label} of random bytes) PUT with Content-Length and then GET, checked byte for byte, through a proxy started by ` +
          `the plugin's own \`preTasksExecution\` (dist/), sealing on, against \`nx-sealed-cache serve\`. Peak RSS is VmHWM from ` +
          `/proc/<pid>/status of each process after both transfers. One run (a peak, not a rate).`,
        measurements: [
          { name: `proxy peak RSS (${label})`, unit: 'MiB', summary: summarize([proxyPeak]) },
          { name: `server peak RSS (${label})`, unit: 'MiB', summary: summarize([serverPeak]) },
          { name: `PUT through the proxy (${label})`, unit: 's', summary: summarize([putSeconds]) },
          { name: `GET through the proxy (${label})`, unit: 's', summary: summarize([getSeconds]) },
        ],
        comparisons: [
          {
            what: 'proxy peak RSS vs 256 MiB',
            ours: `${proxyPeak.toFixed(0)} MiB`,
            baseline: `${LIMIT_MIB} MiB`,
            ratio: proxyPeak / LIMIT_MIB,
            goal: { op: '<', value: 1 },
          },
          {
            what: 'server peak RSS vs 256 MiB',
            ours: `${serverPeak.toFixed(0)} MiB`,
            baseline: `${LIMIT_MIB} MiB`,
            ratio: serverPeak / LIMIT_MIB,
            goal: { op: '<', value: 1 },
          },
        ],
        notes: [],
      };
    } finally {
      process.env = savedEnv;
      stopProxies(stateDir);
      await ours.server.dispose();
    }
  },
};
