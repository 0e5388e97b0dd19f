/** The operations collaborators of one server: metrics, read tracking, retention and request limits. */
import type { Clock } from '../clock';
import type { ServerConfig } from '../config/server-config';
import type { DataDirLayout } from '../data-dir';
import { RequestLimits } from '../limits/request-limits';
import type { MetadataStore } from '../metadata/metadata-store';
import { ServerMetrics } from '../observability/metrics';
import { FsBlobInventory } from '../retention/blob-inventory';
import { ReadTrackingBlobStore } from '../retention/read-tracker';
import { RetentionService } from '../retention/retention-service';
import type { IsolatedSweep } from '../retention/retention-sweep';
import type { BlobStore } from '../storage/blob-store';

export interface OperationsContext {
  metrics: ServerMetrics;
  /** The blob store the routes use: it knows which blobs are being read. */
  blobs: ReadTrackingBlobStore;
  retention: RetentionService;
  limits: RequestLimits;
  blobsDir: string;
}

export interface OperationsInput {
  config: ServerConfig;
  store: MetadataStore;
  blobs: BlobStore;
  layout: DataDirLayout;
  clock: Clock;
  isolatedSweep?: IsolatedSweep;
}

export function createOperations(input: OperationsInput): OperationsContext {
  const { config, store, layout, clock } = input;
  const metrics = new ServerMetrics(() => store.retention.totals());
  const blobs = new ReadTrackingBlobStore(input.blobs);
  const retention = new RetentionService(
    {
      store,
      blobs,
      inventory: new FsBlobInventory(layout.blobsDir, layout.tmpDir),
      clock,
      limits: config,
      isolatedSweep: input.isolatedSweep,
    },
    metrics,
  );
  return { metrics, blobs, retention, limits: new RequestLimits(config, clock, metrics), blobsDir: layout.blobsDir };
}
