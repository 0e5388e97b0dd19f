/**
 * Liveness (`/healthz`: the process serves) and readiness (`/readyz`: the database answers and the
 * blob store, folder or bucket, takes a write). Not ready is a 503 whose JSON says which check failed and why.
 */
import type { FastifyInstance } from 'fastify';
import { openPermit } from '../../auth/route-policy';
import type { MetadataStore } from '../../metadata/metadata-store';

export interface HealthDeps {
  store: MetadataStore;
  /** Writes and removes a probe blob (a file in the blob folder, or an object in the bucket). */
  probeStorage(): Promise<void>;
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

export async function checkStorage(probeStorage: () => Promise<void>): Promise<CheckResult> {
  return check(probeStorage);
}

function publicResult(result: CheckResult): { ok: boolean; error?: string } {
  return result.ok ? { ok: true } : { ok: false, error: result.error };
}

export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get('/healthz', { ...openPermit('server.probe'), logLevel: 'warn' }, async (_request, reply) =>
    reply.send({ status: 'ok', version: deps.version }),
  );
  app.get('/readyz', { ...openPermit('server.probe'), logLevel: 'warn' }, async (request, reply) => {
    const [database, storage] = await Promise.all([checkDatabase(deps.store), checkStorage(deps.probeStorage)]);
    const ready = database.ok && storage.ok;
    if (!ready) request.log.warn({ database, storage }, 'not ready');
    // /readyz is open to anyone who reaches the server: it says which check failed, not where or why in detail.
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not-ready',
      checks: { database: publicResult(database), storage: publicResult(storage) },
    });
  });
}
