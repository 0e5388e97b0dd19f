/** The server factory: everything a running server needs, without touching process state. */
import type { FastifyInstance } from 'fastify';
import { SealedCacheError } from '../errors';
import { CredentialResolver } from './auth/credentials';
import { type DeclaredRoute, registerRoutePolicy } from './auth/route-policy';
import { type Clock, systemClock } from './clock';
import { type ServerConfigInput, parseServerConfig } from './config/server-config';
import { acquireDataDirLock, removeStaleSqliteLock } from './data-dir-lock';
import { clearTmpDir, dataDirLayout, ensureDataDir } from './data-dir';
import { errorBody, statusOf, toSealedCacheError } from './http-errors';
import { closeGracefully } from './lifecycle/graceful-close';
import { createOperations } from './lifecycle/operations';
import { registerOperations } from './lifecycle/register-operations';
import { createFastify } from './lifecycle/server-options';
import type { MetadataStore } from './metadata/metadata-store';
import { openSqliteMetadataStore } from './metadata/sqlite-metadata-store';
import { accessRoutes } from './routes/cache/access';
import { API_PREFIX, apiRoutes } from './routes/admin-api/api-routes';
import { cacheRoutes } from './routes/cache/cache';
import { webRoutes } from './routes/web/web-routes';
import { checkSessionPost, loadViewer } from './web/web-guards';
import { createWebServices } from './web/web-services';
import type { ServerContext } from './server-context';
import { AuditLog } from './services/audit-log';
import { TokenService } from './services/token-service';
import { FsBlobStore } from './storage/fs-blob-store';
import type { LogDestination } from './observability/logger';
import { sweepIsolatedEntries } from './tiers/isolated-sweep';
import { packageVersion } from './version';

export interface BuildServerOptions extends ServerConfigInput {
  /** Injected so tests can move time (token expiry) instead of sleeping. */
  clock?: Clock;
  /** Listen on host:port (default true); false returns an app for `inject()` only. */
  listen?: boolean;
  /** Log lines go here instead of stdout (tests read them). */
  logDestination?: LogDestination;
}

export interface SealedCacheServer {
  app: FastifyInstance;
  context: ServerContext;
  /** `http://host:port` once listening (the real port when port 0 was asked for). */
  url: string | undefined;
  /** Every registered route with the permission it declares (the permission matrix test walks it). */
  routes: DeclaredRoute[];
  /** Whether the data dir has a server administrator (if not, `admin init` is needed). */
  hasAdmin: boolean;
  close(): Promise<void>;
}

function createApp(
  context: ServerContext,
  logDestination?: LogDestination,
): { app: FastifyInstance; routes: DeclaredRoute[] } {
  const app = createFastify(context.config, logDestination);
  const web = createWebServices(context);
  app.decorateRequest('webViewer', null);
  registerOperations(app, context);
  const routes = registerRoutePolicy(app, {
    store: context.store,
    credentials: context.credentials,
    audit: context.audit,
    loadSession: (request) => loadViewer(web, (id) => context.store.findUser(id), request),
    checkSessionPost,
    checkSessionOrg: async (request, orgId) =>
      request.webViewer === null ? undefined : web.sso.requiredProviderRefusal(orgId, request.webViewer.sessionHash),
  });
  app.setErrorHandler((error, request, reply) => {
    const err = toSealedCacheError(error);
    const status = statusOf(err);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).send(errorBody(err));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(new SealedCacheError('ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
      ),
  );
  app.register(async (scope) => cacheRoutes(scope, context));
  app.register(async (scope) => accessRoutes(scope, context));
  app.register(async (scope) => apiRoutes(scope, context, web), { prefix: API_PREFIX });
  app.register(async (scope) => webRoutes(scope, context, web));
  return { app, routes };
}

async function openStore(metadataFile: string): Promise<MetadataStore> {
  removeStaleSqliteLock(metadataFile);
  return openSqliteMetadataStore(metadataFile, { exclusive: true });
}

export async function buildServer(options: BuildServerOptions = {}): Promise<SealedCacheServer> {
  const { clock = systemClock, listen = true, logDestination, ...configInput } = options;
  const config = parseServerConfig(configInput);
  const layout = dataDirLayout(config.dataDir);
  const tightened = ensureDataDir(layout);
  const lock = acquireDataDirLock(layout.lockFile);
  let store: MetadataStore | undefined;
  try {
    clearTmpDir(layout);
    store = await openStore(layout.metadataFile);
    const audit = new AuditLog(store, clock);
    const ops = createOperations({
      config,
      store,
      blobs: new FsBlobStore(layout.blobsDir, layout.tmpDir),
      layout,
      clock,
      isolatedSweep: sweepIsolatedEntries,
    });
    const context: ServerContext = {
      config,
      store,
      blobs: ops.blobs,
      clock,
      credentials: new CredentialResolver(store, clock),
      audit,
      tokens: new TokenService(store, audit, clock),
      counters: { storageFaultMisses: 0 },
      version: packageVersion(),
      ops,
    };
    const { app, routes } = createApp(context, logDestination);
    if (tightened.length > 0)
      app.log.warn({ tightened }, 'data dir folders were open to other users; now 0700 (owner only)');
    const url = listen ? await listenOn(app, config.host, config.port) : undefined;
    const openedStore = store;
    // One loop for every retention rule, the isolated tiers' own limit included.
    ops.retention.log = app.log;
    ops.retention.start(config.retentionInterval);
    return {
      app,
      context,
      routes,
      url: url && displayUrl(app, config.host, config.tlsCert !== undefined),
      hasAdmin: await store.hasServerAdmin(),
      close: async () => {
        try {
          await ops.retention.stop();
          await closeGracefully(app, config.shutdownGrace);
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

const LISTEN_ERRORS: Record<string, (where: string, port: number) => string> = {
  EADDRINUSE: (where) =>
    `${where} is already in use (another server, or an earlier one still running); choose another --port`,
  EACCES: (where, port) =>
    `not permitted to listen on ${where}${port < 1024 ? ' (ports below 1024 need privileges)' : ''}`,
  EADDRNOTAVAIL: (where) => `${where}: this machine has no such address; check --host`,
};

async function listenOn(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (err) {
    const describe = LISTEN_ERRORS[(err as NodeJS.ErrnoException).code ?? ''];
    if (describe === undefined) throw err;
    await app.close().catch(() => undefined);
    throw new SealedCacheError('ERR_SERVER_LISTEN_FAILED', describe(`${host}:${port}`, port), { cause: err });
  }
}

/** The URL as the operator asked for it (host as given, real port), not fastify's pick of addresses. */
function displayUrl(app: FastifyInstance, host: string, tls: boolean): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${shownHost}:${port}`;
}
