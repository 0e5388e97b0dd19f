import type { CredentialResolver } from './auth/credentials';
import type { Clock } from './clock';
import type { ServerConfig } from './config/server-config';
import type { OperationsContext } from './lifecycle/operations';
import type { MetadataStore } from './metadata/metadata-store';
import type { AuditLog } from './services/audit-log';
import type { TokenService } from './services/token-service';
import type { BlobStore } from './storage/blob-store';

/** Counters a metrics endpoint can expose later. */
export interface ServerCounters {
  /** GETs answered as a miss because the blob was missing, short or unreadable. */
  storageFaultMisses: number;
}

/** What every route module receives: the server's collaborators, built once in buildServer. */
export interface ServerContext {
  config: ServerConfig;
  store: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  credentials: CredentialResolver;
  audit: AuditLog;
  tokens: TokenService;
  counters: ServerCounters;
  version: string;
  /** Metrics, read tracking, retention and request limits (lifecycle/operations.ts). */
  ops: OperationsContext;
}
