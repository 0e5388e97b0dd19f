/**
 * Every `serve` option once: its config-file key, flag, env var, text parser and help. The CLI,
 * the env reader, the config-file reader and docs/operations.md all follow this table.
 */
import { parseBoolean, parseByteSize, parseDuration, parseWholeNumber } from './config-values';
import type { ServerConfigInput } from './server-config';

export type ConfigKey = Exclude<keyof ServerConfigInput, never>;
export type ValueKind = 'string' | 'port' | 'bytes' | 'duration' | 'count' | 'boolean' | 'log-level' | 'log-format';

export interface ConfigOption {
  key: ConfigKey;
  kind: ValueKind;
  /** Shown in --help; marks secrets so they are never echoed. */
  help: string;
  secret?: boolean;
}

export const CONFIG_OPTIONS: readonly ConfigOption[] = [
  { key: 'dataDir', kind: 'string', help: 'where metadata and blobs live' },
  {
    key: 'databaseUrl',
    kind: 'string',
    help: 'keep metadata in PostgreSQL, shared by every replica, e.g. postgres://cache:secret@db:5432/cache (default: SQLite in --data-dir)',
    secret: true,
  },
  { key: 'host', kind: 'string', help: 'address to listen on' },
  { key: 'port', kind: 'port', help: 'port to listen on (0 = a free port)' },
  { key: 'maxArtifactSize', kind: 'bytes', help: 'largest accepted artifact, e.g. 2GiB' },
  { key: 'drainLimit', kind: 'bytes', help: 'a refused upload is read and discarded up to this size' },
  { key: 'logLevel', kind: 'log-level', help: 'fatal, error, warn, info, debug, trace or silent' },
  { key: 'logFormat', kind: 'log-format', help: 'json (lines for a collector) or pretty (for a terminal)' },
  {
    key: 'trustProxy',
    kind: 'boolean',
    help: 'take the client address from X-Forwarded-For (only behind your own reverse proxy)',
  },
  { key: 'tlsCert', kind: 'string', help: 'PEM certificate file: serve HTTPS (with --tls-key)' },
  { key: 'tlsKey', kind: 'string', help: 'PEM private key file for --tls-cert' },
  {
    key: 'metricsToken',
    kind: 'string',
    help: 'bearer token for /metrics (without it /metrics answers loopback callers only)',
    secret: true,
  },
  {
    key: 'retentionMaxBytes',
    kind: 'bytes',
    help: 'evict least recently used entries above this total, e.g. 200GiB (0 = no cap)',
  },
  { key: 'retentionMaxAge', kind: 'duration', help: 'remove entries not read for this long, e.g. 30d (0 = never)' },
  { key: 'retentionInterval', kind: 'duration', help: 'how often retention runs, e.g. 10m (0 = never)' },
  {
    key: 'ciIdentityTokenRetention',
    kind: 'duration',
    help: 'delete tokens from a CI identity exchange this long after they expire, e.g. 7d (0 = never)',
  },
  {
    key: 'runReportRetention',
    kind: 'duration',
    help: 'delete run reports (the Runs page) older than this, e.g. 30d (0 = never)',
  },
  {
    key: 'rateLimit',
    kind: 'count',
    help: 'requests per token (anonymous: per address) per --rate-window (0 = unlimited)',
  },
  { key: 'rateWindow', kind: 'duration', help: 'window of --rate-limit, e.g. 1m' },
  { key: 'byteQuota', kind: 'bytes', help: 'bytes up plus down per token per --byte-quota-window (0 = unlimited)' },
  { key: 'byteQuotaWindow', kind: 'duration', help: 'window of --byte-quota, e.g. 1h' },
  {
    key: 'authFailureLimit',
    kind: 'count',
    help: 'invalid tokens per client address per --auth-failure-window before it is refused (0 = unlimited)',
  },
  { key: 'authFailureWindow', kind: 'duration', help: 'window of --auth-failure-limit, e.g. 15m' },
  { key: 'headersTimeout', kind: 'duration', help: 'request headers must arrive within this' },
  { key: 'requestTimeout', kind: 'duration', help: 'a whole request, body included, must arrive within this' },
  { key: 'idleTimeout', kind: 'duration', help: 'close a connection silent for this long' },
  { key: 'keepAliveTimeout', kind: 'duration', help: 'keep an idle keep-alive connection open this long' },
  { key: 'shutdownGrace', kind: 'duration', help: 'on SIGTERM, let in-flight requests finish for this long' },
  {
    key: 'minBodyRate',
    kind: 'bytes',
    help: 'slowest accepted request body, bytes per second over --body-rate-window, e.g. 1KiB (0 = no minimum)',
  },
  { key: 'bodyRateWindow', kind: 'duration', help: 'window over which --min-body-rate is measured, e.g. 10s' },
  { key: 'bodyRateGrace', kind: 'duration', help: 'a body is not measured for its first this long, e.g. 10s' },
  {
    key: 'ciIdentityHttpLoopback',
    kind: 'boolean',
    help: 'tests only: accept http:// CI identity issuers on a loopback address (default https:// only)',
  },
  {
    key: 'ciIdentityIssuers',
    kind: 'string',
    help: 'CI identity issuers besides GitHub Actions and GitLab.com that trust policies may fetch keys from, comma-separated https:// URLs',
  },
  { key: 'maxConnections', kind: 'count', help: 'open connections in all; more are closed at once (0 = unlimited)' },
  {
    key: 'maxConnectionsPerAddress',
    kind: 'count',
    help: 'open connections from one client address (the socket peer, so a reverse proxy counts as one) (0 = unlimited)',
  },
  {
    key: 'blobStore',
    kind: 'string',
    help: "keep blobs in an S3-compatible bucket, s3://bucket/prefix (unset: the data dir's blobs/ folder)",
  },
  { key: 's3Endpoint', kind: 'string', help: 'URL of an S3-compatible store (unset: AWS S3)' },
  {
    key: 's3Region',
    kind: 'string',
    help: 'region to sign S3 requests for (unset: AWS_REGION or the AWS config files)',
  },
  {
    key: 's3ForcePathStyle',
    kind: 'boolean',
    help: 'address the bucket in the path, as most S3-compatible stores want',
  },
  { key: 'ssoConfig', kind: 'string', help: 'JSON file of identity providers for web sign-in (docs/sso.md)' },
];

/** `retentionMaxBytes` -> `--retention-max-bytes`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `retentionMaxBytes` -> `NX_SEALED_CACHE_SERVER_RETENTION_MAX_BYTES`. */
export function envVarOf(key: string): string {
  return `NX_SEALED_CACHE_SERVER_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export type ConfigValue = string | number | boolean;

/** Text (flag, env var, or a string in the config file) to the value the schema expects. */
export function parseOptionText(kind: ValueKind, text: string): ConfigValue {
  switch (kind) {
    case 'port':
    case 'count':
      return parseWholeNumber(text);
    case 'bytes':
      return parseByteSize(text);
    case 'duration':
      return parseDuration(text);
    case 'boolean':
      return parseBoolean(text);
    case 'log-level':
      return text === 'silent' ? false : text;
    default:
      return text;
  }
}
