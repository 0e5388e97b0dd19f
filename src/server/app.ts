/** The server factory: everything a running server needs, without touching process state. */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SealedCacheError } from '../errors';
import { CredentialResolver } from './auth/credentials';
import { type DeclaredRoute, registerRoutePolicy } from './auth/route-policy';
import { type Clock, systemClock } from './clock';
import { type ServerConfig, type ServerConfigInput, parseServerConfig } from './config/server-config';
import { type DataDirLock, acquireDataDirLock, removeStaleSqliteLock } from './data-dir-lock';
import { type DataDirLayout, DATA_DIR_MODE, clearTmpDir, dataDirLayout, ensureDataDir } from './data-dir';
import { errorBody, statusOf, toSealedCacheError } from './http-errors';
import { closeGracefully } from './lifecycle/graceful-close';
import { createOperations } from './lifecycle/operations';
import { registerOperations } from './lifecycle/register-operations';
import { createFastify } from './lifecycle/server-options';
import type { MetadataStore } from './metadata/metadata-store';
import { openPostgresMetadataStore } from './metadata/postgres-metadata-store';
import { openSqliteMetadataStore } from './metadata/sqlite-metadata-store';
import { accessRoutes } from './routes/cache/access';
import { API_PREFIX, apiRoutes } from './routes/admin-api/api-routes';
import { cacheRoutes } from './routes/cache/cache';
import { SCIM_PREFIX, scimRoutes } from './routes/scim/scim-routes';
import { runReportRoutes } from './routes/cache/runs';
import { webRoutes } from './routes/web/web-routes';
import { checkSessionPost, loadViewer } from './web/web-guards';
import { createWebServices, type WebServices } from './web/web-services';
import type { ServerContext } from './server-context';
import { AuditLog } from './services/audit-log';
import { TokenService } from './services/token-service';
import type { BlobBackend } from './storage/blob-store';
import { assertBlobBackendWritable, openBlobBackend } from './storage/open-blob-backend';
import { SmallBlobCache } from './storage/small-blob-cache';
import type { LogDestination } from './observability/logger';
import { sweepIsolatedEntries } from './tiers/isolated-sweep';
import { packageVersion } from '../version';

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
  /** While no administrator has a password: the path of a one-time link that sets one (print it on the server's terminal only). */
  firstSignIn: { path: string; userName: string; expiresAt: Date } | undefined;
  /** `signal`: what asked the process to stop, for the shutdown log line. */
  close(reason?: { signal?: string }): Promise<void>;
}

function createApp(
  context: ServerContext,
  logDestination?: LogDestination,
): { app: FastifyInstance; routes: DeclaredRoute[]; web: WebServices } {
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
  app.register(async (scope) => runReportRoutes(scope, context));
  app.register(async (scope) => apiRoutes(scope, context, web), { prefix: API_PREFIX });
  app.register(async (scope) => webRoutes(scope, context, web));
  app.register(async (scope) => scimRoutes(scope, web.scim), { prefix: SCIM_PREFIX });
  return { app, routes, web };
}

async function openStore(config: ServerConfig, layout: DataDirLayout): Promise<MetadataStore> {
  if (config.databaseUrl !== undefined) return openPostgresMetadataStore(config.databaseUrl);
  removeStaleSqliteLock(layout.metadataFile);
  return openSqliteMetadataStore(layout.metadataFile, { exclusive: true });
}

/**
 * The embedded store is one process's: it holds the data-dir lock and owns tmp/. Replicas sharing
 * PostgreSQL may share the data dir's blob folder too, so each uploads through a tmp folder of its own.
 */
function claimDataDir(config: ServerConfig, layout: DataDirLayout): { lock: DataDirLock; layout: DataDirLayout } {
  if (config.databaseUrl === undefined) {
    const lock = acquireDataDirLock(layout.lockFile);
    try {
      clearTmpDir(layout);
    } catch (err) {
      lock.release();
      throw err;
    }
    return { lock, layout };
  }
  const tmpDir = join(layout.tmpDir, `replica-${randomUUID()}`);
  mkdirSync(tmpDir, { mode: DATA_DIR_MODE });
  return { lock: { release: () => rmSync(tmpDir, { recursive: true, force: true }) }, layout: { ...layout, tmpDir } };
}

export async function buildServer(options: BuildServerOptions = {}): Promise<SealedCacheServer> {
  const { clock = systemClock, listen = true, logDestination, ...configInput } = options;
  const config = parseServerConfig(configInput);
  const tightened = ensureDataDir(dataDirLayout(config.dataDir));
  const { lock, layout } = claimDataDir(config, dataDirLayout(config.dataDir));
  let store: MetadataStore | undefined;
  let backend: BlobBackend | undefined;
  try {
    backend = openBlobBackend(config, layout);
    // A bucket costs a round trip per read; a small blob under its write-once key can be served from memory.
    if (backend.kind === 's3') backend = { ...backend, store: new SmallBlobCache(backend.store, clock) };
    await assertBlobBackendWritable(backend);
    store = await openStore(config, layout);
    const audit = new AuditLog(store, clock);
    const ops = createOperations({
      config,
      store,
      backend,
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
    const { app, routes, web } = createApp(context, logDestination);
    if (backend.kind === 's3') app.log.info({ blobStore: backend.description }, 'blobs in an S3 bucket');
    const migrated = store.migratedAtOpen;
    if (migrated.length > 0) app.log.info({ migrations: migrated }, `metadata database migrated (${migrated.length})`);
    else {
      const applied = await store.appliedMigrations();
      app.log.info({ migrations: [], latest: applied[applied.length - 1] }, 'metadata schema up to date');
    }
    if (tightened.length > 0)
      app.log.warn({ tightened }, 'data dir folders were open to other users; now 0700 (owner only)');
    const url = listen ? await listenOn(app, config.host, config.port) : undefined;
    const openedStore = store;
    const openedBackend = backend;
    // One loop for every retention rule, the isolated tiers' own limit included.
    ops.retention.log = app.log;
    ops.limits.log = app.log;
    web.ssoRecheck.log = app.log;
    ops.retention.alsoEachPass = async () => {
      const outcome = await web.ssoRecheck.run();
      if (outcome.failed > 0) app.log.info({ ssoRecheck: outcome }, 'SSO re-check stopped access of failed identities');
    };
    ops.retention.start(config.retentionInterval);
    return {
      app,
      context,
      routes,
      url: url && displayUrl(app, config.host, config.tlsCert !== undefined),
      hasAdmin: await store.hasServerAdmin(),
      firstSignIn: await web.firstSignIn.issueIfNeeded(),
      close: async (reason = {}) => {
        try {
          app.log.info(
            { graceMs: config.shutdownGrace, ...(reason.signal === undefined ? {} : { signal: reason.signal }) },
            `${reason.signal === undefined ? '' : `${reason.signal} received; `}shutting down: no new connections; in-flight requests may finish`,
          );
          await ops.retention.stop();
          await closeGracefully(app, config.shutdownGrace);
          await ops.limits.close();
          await openedStore.close();
          await openedBackend.close();
          app.log.info('shut down cleanly');
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    await store?.close().catch(() => undefined);
    await backend?.close().catch(() => undefined);
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
