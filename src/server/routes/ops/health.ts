/**
 * Liveness (`/healthz`: the process serves) and readiness (`/readyz`: the database answers and the
 * blob folder takes a write). Not ready is a 503 whose JSON says which check failed and why.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openPermit } from '../../auth/route-policy';
import type { MetadataStore } from '../../metadata/metadata-store';

export interface HealthDeps {
  store: MetadataStore;
  /** The folder blobs are written to; the probe file goes there. */
  blobsDir: string;
  version: string;
}

/** `error` is what anyone may see (an errno code, never a path); `detail` goes to the server's log only. */
export type CheckResult = { ok: true } | { ok: false; error: string; detail: string };

async function check(probe: () => Promise<void>): Promise<CheckResult> {
  try {
    await probe();
    return { ok: true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const detail = err instanceof Error ? err.message : String(err);
    return {
      ok: false,
      error: typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,31}$/.test(code) ? code : 'failed',
      detail,
    };
  }
}

export async function checkDatabase(store: MetadataStore): Promise<CheckResult> {
  return check(() => store.retention.ping());
}

export async function checkStorage(blobsDir: string): Promise<CheckResult> {
  return check(async () => {
    const probe = join(blobsDir, `.ready-probe-${randomBytes(6).toString('hex')}`);
    await writeFile(probe, 'ok', { flag: 'wx', mode: 0o600 });
    await rm(probe, { force: true });
  });
}

function publicResult(result: CheckResult): { ok: boolean; error?: string } {
  return result.ok ? { ok: true } : { ok: false, error: result.error };
}

export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get('/healthz', { ...openPermit('server.probe'), logLevel: 'warn' }, async (_request, reply) =>
    reply.send({ status: 'ok', version: deps.version }),
  );
  app.get('/readyz', { ...openPermit('server.probe'), logLevel: 'warn' }, async (request, reply) => {
    const [database, storage] = await Promise.all([checkDatabase(deps.store), checkStorage(deps.blobsDir)]);
    const ready = database.ok && storage.ok;
    if (!ready) request.log.warn({ database, storage }, 'not ready');
    // /readyz is open to anyone who reaches the server: it says which check failed, not where or why in detail.
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not-ready',
      checks: { database: publicResult(database), storage: publicResult(storage) },
    });
  });
}
