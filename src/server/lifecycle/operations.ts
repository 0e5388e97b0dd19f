/** The operations collaborators of one server: metrics, read tracking, retention and request limits. */
import type { Clock } from '../clock';
import type { ServerConfig } from '../config/server-config';
import { RequestLimits } from '../limits/request-limits';
import type { MetadataStore } from '../metadata/metadata-store';
import { ServerMetrics } from '../observability/metrics';
import { ReadTrackingBlobStore } from '../retention/read-tracker';
import { RetentionService } from '../retention/retention-service';
import type { IsolatedSweep } from '../retention/retention-sweep';
import type { BlobBackend } from '../storage/blob-store';

export interface OperationsContext {
  metrics: ServerMetrics;
  /** The blob store the routes use: it knows which blobs are being read. */
  blobs: ReadTrackingBlobStore;
  retention: RetentionService;
  limits: RequestLimits;
  /** Readiness: the blob backend takes a write. */
  probeStorage(): Promise<void>;
}

export interface OperationsInput {
  config: ServerConfig;
  store: MetadataStore;
  backend: BlobBackend;
  clock: Clock;
  isolatedSweep?: IsolatedSweep;
}

export function createOperations(input: OperationsInput): OperationsContext {
  const { config, store, backend, clock } = input;
  const metrics = new ServerMetrics(() => store.retention.totals());
  const blobs = new ReadTrackingBlobStore(backend.store);
  const retention = new RetentionService(
    {
      store,
      blobs,
      inventory: backend.inventory,
      clock,
      limits: config,
      isolatedSweep: input.isolatedSweep,
    },
    metrics,
  );
  return {
    metrics,
    blobs,
    retention,
    // Replicas sharing PostgreSQL count their limits together; the embedded store's one process in memory.
    limits: new RequestLimits(config, clock, metrics, store.engine === 'postgres' ? store.limits : undefined),
    probeStorage: () => backend.probe(),
  };
}
