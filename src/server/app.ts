/** The server factory: everything a running server needs, without touching process state. */
import Fastify, { type FastifyInstance } from 'fastify';
import { SealedCacheError } from '../errors';
import { CredentialResolver } from './auth/credentials';
import { registerRouteAuth } from './auth/route-auth';
import { type Clock, systemClock } from './clock';
import { type ServerConfigInput, parseServerConfig } from './config';
import { acquireDataDirLock, removeStaleSqliteLock } from './data-dir-lock';
import { clearTmpDir, dataDirLayout, ensureDataDir } from './data-dir';
import { errorBody, statusOf, toSealedCacheError } from './http-errors';
import type { MetadataStore } from './metadata/metadata-store';
import { openSqliteMetadataStore } from './metadata/sqlite-metadata-store';
import { accessRoutes } from './routes/access';
import { adminRoutes } from './routes/admin';
import { cacheRoutes } from './routes/cache';
import { webRoutes } from './routes/web';
import type { ServerContext } from './server-context';
import { AuditLog } from './services/audit-log';
import { TokenService } from './services/token-service';
import { FsBlobStore } from './storage/fs-blob-store';
import { startIsolatedSweep } from './tiers/isolated-sweep';
import { packageVersion } from './version';

export interface BuildServerOptions extends ServerConfigInput {
  /** Injected so tests can move time (token expiry) instead of sleeping. */
  clock?: Clock;
  /** Listen on host:port (default true); false returns an app for `inject()` only. */
  listen?: boolean;
}

export interface SealedCacheServer {
  app: FastifyInstance;
  context: ServerContext;
  /** `http://host:port` once listening (the real port when port 0 was asked for). */
  url: string | undefined;
  /** Whether the data dir has a server administrator (if not, `admin init` is needed). */
  hasAdmin: boolean;
  close(): Promise<void>;
}

function createApp(context: ServerContext): FastifyInstance {
  const { logLevel } = context.config;
  const app = Fastify({ logger: logLevel === false ? false : { level: logLevel }, forceCloseConnections: true, return503OnClosing: false, routerOptions: { maxParamLength: 256 } });
  // maxParamLength: hashes may be 128 characters (fastify's default cap is 100).
  registerRouteAuth(app, context);
  app.setErrorHandler((error, request, reply) => {
    const err = toSealedCacheError(error);
    const status = statusOf(err);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).send(errorBody(err));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(new SealedCacheError('ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`))));
  app.register(async (scope) => cacheRoutes(scope, context));
  app.register(async (scope) => accessRoutes(scope, context));
  app.register(async (scope) => adminRoutes(scope, context), { prefix: '/api/v1' });
  app.register(async (scope) => webRoutes(scope, context));
  return app;
}

async function openStore(metadataFile: string): Promise<MetadataStore> {
  removeStaleSqliteLock(metadataFile);
  return openSqliteMetadataStore(metadataFile);
}

export async function buildServer(options: BuildServerOptions = {}): Promise<SealedCacheServer> {
  const { clock = systemClock, listen = true, ...configInput } = options;
  const config = parseServerConfig(configInput);
  const layout = dataDirLayout(config.dataDir);
  ensureDataDir(layout);
  const lock = acquireDataDirLock(layout.lockFile);
  let store: MetadataStore | undefined;
  try {
    clearTmpDir(layout);
    store = await openStore(layout.metadataFile);
    const audit = new AuditLog(store, clock);
    const context: ServerContext = {
      config,
      store,
      blobs: new FsBlobStore(layout.blobsDir, layout.tmpDir),
      clock,
      credentials: new CredentialResolver(store, clock),
      audit,
      tokens: new TokenService(store, audit, clock),
      counters: { storageFaultMisses: 0 },
      version: packageVersion(),
    };
    const app = createApp(context);
    const url = listen ? await app.listen({ host: config.host, port: config.port }) : undefined;
    const openedStore = store;
    // Until the general retention loop calls sweepIsolatedEntries, isolated tiers expire here.
    const stopSweep = startIsolatedSweep(context, app.log);
    return {
      app,
      context,
      url: url && displayUrl(app, config.host),
      hasAdmin: await store.hasServerAdmin(),
      close: async () => {
        stopSweep();
        try {
          await app.close();
          await openedStore.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    await store?.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

/** The URL as the operator asked for it (host as given, real port), not fastify's pick of addresses. */
function displayUrl(app: FastifyInstance, host: string): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return `http://${shownHost}:${port}`;
}
