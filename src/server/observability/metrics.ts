/** The server's Prometheus metrics: one registry per server instance, nothing global. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface StorageTotals {
  entries: number;
  bytes: number;
}

/** What retention removed: entries and files by why, `ci-tokens`, expired tokens from CI identity exchanges, and `run-reports`, old run reports. */
export type EvictionReason = 'age' | 'size' | 'isolated' | 'orphan' | 'tmp' | 'ci-tokens' | 'run-reports';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route' | 'method'>;
  readonly cacheHits: Counter;
  readonly cacheMisses: Counter<'reason'>;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly deniedWrites: Counter<'reason'>;
  readonly limited: Counter<'limit' | 'route'>;
  readonly evictions: Counter<'reason'>;
  readonly evictedBytes: Counter<'reason'>;

  constructor(storageTotals: () => Promise<StorageTotals>) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'nxsc_http_requests_total',
      help: 'HTTP requests by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'nxsc_http_request_duration_seconds',
      help: 'Time from request to the end of the response, by route pattern and method',
      labelNames: ['route', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.cacheHits = new Counter({
      name: 'nxsc_cache_hits_total',
      help: 'Cache GETs answered with an artifact',
      registers,
    });
    this.cacheMisses = new Counter({
      name: 'nxsc_cache_misses_total',
      help: 'Cache GETs answered 404, by reason (absent, limited, storage-fault)',
      labelNames: ['reason'],
      registers,
    });
    this.bytesIn = new Counter({ name: 'nxsc_cache_bytes_in_total', help: 'Artifact bytes stored by PUTs', registers });
    this.bytesOut = new Counter({
      name: 'nxsc_cache_bytes_out_total',
      help: 'Artifact bytes served by GETs',
      registers,
    });
    this.deniedWrites = new Counter({
      name: 'nxsc_cache_denied_writes_total',
      help: 'Cache PUTs not stored, by error code',
      labelNames: ['reason'],
      registers,
    });
    this.limited = new Counter({
      name: 'nxsc_limited_requests_total',
      help: 'Requests refused by a rate limit, byte quota or auth-failure limit',
      labelNames: ['limit', 'route'],
      registers,
    });
    this.evictions = new Counter({
      name: 'nxsc_retention_evictions_total',
      help: 'Entries and files removed by retention, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.evictedBytes = new Counter({
      name: 'nxsc_retention_evicted_bytes_total',
      help: 'Bytes removed by retention, by reason',
      labelNames: ['reason'],
      registers,
    });
    // Both gauges are collected in parallel: they share one query per scrape.
    let pending: Promise<StorageTotals> | undefined;
    let last: StorageTotals = { entries: 0, bytes: 0 };
    const totals = (): Promise<StorageTotals> => {
      pending ??= storageTotals()
        .then((t) => (last = t))
        .catch(() => last)
        .finally(() => (pending = undefined));
      return pending;
    };
    new Gauge({
      name: 'nxsc_storage_entries',
      help: 'Cache entries stored',
      registers,
      async collect() {
        this.set((await totals()).entries);
      },
    });
    new Gauge({
      name: 'nxsc_storage_bytes',
      help: 'Artifact bytes stored',
      registers,
      async collect() {
        this.set((await totals()).bytes);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'nxsc_' });
  }

  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
