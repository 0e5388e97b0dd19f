/**
 * Finds remote caches other than ours in nx.json and package.json: Nx Cloud, Nx's self-hosted
 * adapters (@nx/s3-cache and friends) and `nx-remotecache-*` custom runners. Shared by `init`
 * (which replaces them) and `doctor` (which warns). Pure; secrets appear only as fingerprints.
 */
import { createHash } from 'node:crypto';
import { isOurRunner } from './nx-json-wiring';
import type { NxJson } from './nx-devkit';

export type OtherCacheProvider =
  'nx-cloud' | 's3-cache' | 'gcs-cache' | 'azure-cache' | 'shared-fs-cache' | 'custom-runner';

export interface ExposedSecret {
  /** Where it sits, e.g. `nx.json nxCloudAccessToken`; never the value. */
  location: string;
  /** First 8 hex digits of its SHA-256, enough to tell two secrets apart. */
  fingerprint: string;
}

export interface OtherCacheFinding {
  provider: OtherCacheProvider;
  /** What a person calls it, e.g. `Nx Cloud` or `the nx-remotecache-s3 runner`. */
  label: string;
  /** Every place it is configured, e.g. `nx.json nxCloudId`, `package.json devDependencies "nx-cloud"`. */
  locations: string[];
  exposed: ExposedSecret[];
  /** An encryption key of the old cache (its location); never reused, the formats differ. */
  encryptionKeys: string[];
  /** The old setup separates reading from writing (a read-only token or mode). */
  readWriteSplit: boolean;
  /** CI secret variables that become unused once it is gone. */
  ciVariables: string[];
  /** What to revoke or delete at the old provider. */
  revoke: string;
}

type Json = Record<string, unknown>;

const NX_CLOUD_RUNNERS = new Set(['nx-cloud', '@nrwl/nx-cloud']);
export const NX_CLOUD_PACKAGES = ['nx-cloud', '@nrwl/nx-cloud'];
export const NX_CLOUD_KEYS = ['nxCloudAccessToken', 'nxCloudId', 'nxCloudUrl', 'nxCloudEncryptionKey'] as const;
/** Options Nx's own default runner reads; everything else under another cache's runner is that cache's. */
export const NX_RUNNER_OPTION_KEYS = [
  'cacheableOperations',
  'parallel',
  'cacheDirectory',
  'captureStderr',
  'skipNxCache',
  'useDaemonProcess',
  'runtimeCacheInputs',
];
const SECRET_KEY = /secret|password|passwd|token|sas|credential|connectionstring|accesskey|apikey|private/i;
const ENCRYPTION_KEY = /encryption.?key/i;

interface Adapter {
  provider: Exclude<OtherCacheProvider, 'nx-cloud' | 'custom-runner'>;
  /** Top-level nx.json key the adapter reads, when it has one. */
  nxJsonKey?: string;
  packages: string[];
  ciVariables: string[];
  revoke: string;
}

export const ADAPTERS: readonly Adapter[] = [
  {
    provider: 's3-cache',
    nxJsonKey: 's3',
    packages: ['@nx/s3-cache', '@nx/powerpack-s3-cache'],
    ciVariables: [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_REGION / AWS_PROFILE (if only the cache used them)',
      'NX_KEY',
    ],
    revoke:
      'delete the IAM access key (or role) that could write the cache bucket, then the bucket itself once nothing reads it',
  },
  {
    provider: 'gcs-cache',
    nxJsonKey: 'gcs',
    packages: ['@nx/gcs-cache', '@nx/powerpack-gcs-cache'],
    ciVariables: ['GOOGLE_APPLICATION_CREDENTIALS (and the service-account key it points at)', 'NX_KEY'],
    revoke: "remove the service account's access to the cache bucket (or delete its key / workload identity binding)",
  },
  {
    provider: 'azure-cache',
    nxJsonKey: 'azure',
    packages: ['@nx/azure-cache', '@nx/powerpack-azure-cache'],
    ciVariables: [
      'AZURE_CLIENT_ID',
      'AZURE_TENANT_ID',
      'AZURE_CLIENT_SECRET',
      'AZURE_STORAGE_CONNECTION_STRING / AZURE_STORAGE_SAS_TOKEN (if set)',
      'NX_KEY',
    ],
    revoke: "remove the app registration's role on the storage container (or rotate the storage account key / SAS)",
  },
  {
    provider: 'shared-fs-cache',
    packages: ['@nx/shared-fs-cache', '@nx/powerpack-shared-fs-cache'],
    ciVariables: ['NX_KEY', 'NX_CACHE_DIRECTORY (if it pointed at the shared folder)'],
    revoke: 'unmount or stop syncing the shared cache folder; anyone who could write it could poison builds',
  },
];

export function findOtherCaches(nxJson: NxJson, packageJson: Json | undefined): OtherCacheFinding[] {
  const findings = [
    findNxCloud(nxJson, packageJson),
    ...ADAPTERS.map((adapter) => findAdapter(adapter, nxJson, packageJson)),
    ...findCustomRunners(nxJson, packageJson),
  ];
  return findings.filter((finding): finding is OtherCacheFinding => finding !== undefined);
}

/** A root file Nx reads for Nx Cloud credentials; generators cannot delete files, so it is only reported. */
export const NX_CLOUD_ENV_FILE = 'nx-cloud.env';

export function isCustomCacheRunner(runner: unknown): runner is string {
  if (typeof runner !== 'string' || isOurRunner(runner)) return false;
  const name = runner.replace(/^@[^/]+\//, '');
  return name.startsWith('nx-remotecache-') || /(^|-)nx-.*-cache$/.test(name) || name === 'nx-gcp-cache';
}

export function isNxCloudRunner(runner: unknown): boolean {
  return typeof runner === 'string' && NX_CLOUD_RUNNERS.has(runner);
}

export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 8);
}

function findNxCloud(nxJson: NxJson, packageJson: Json | undefined): OtherCacheFinding | undefined {
  const finding = emptyFinding('nx-cloud', 'Nx Cloud');
  for (const key of NX_CLOUD_KEYS) {
    const value = nxJson[key];
    if (value === undefined) continue;
    finding.locations.push(`nx.json ${key}`);
    if (key === 'nxCloudAccessToken' && typeof value === 'string' && value)
      finding.exposed.push({ location: `nx.json ${key}`, fingerprint: fingerprint(value) });
    if (key === 'nxCloudEncryptionKey') finding.encryptionKeys.push(`nx.json ${key}`);
  }
  for (const [name, entry] of runnerEntries(nxJson)) {
    const options = asObject(entry.options) ?? {};
    if (!isNxCloudRunner(entry.runner) && !carriesCloudToken(entry.runner, options)) continue;
    finding.locations.push(
      `nx.json tasksRunnerOptions.${name}${isNxCloudRunner(entry.runner) ? ` (runner "${String(entry.runner)}")` : '.options.accessToken'}`,
    );
    if (typeof options.accessToken === 'string' && options.accessToken) {
      finding.exposed.push({
        location: `nx.json tasksRunnerOptions.${name}.options.accessToken`,
        fingerprint: fingerprint(options.accessToken),
      });
    }
    if (options.encryptionKey !== undefined)
      finding.encryptionKeys.push(`nx.json tasksRunnerOptions.${name}.options.encryptionKey`);
  }
  finding.locations.push(
    ...pluginLocations(nxJson, NX_CLOUD_PACKAGES),
    ...dependencyLocations(packageJson, NX_CLOUD_PACKAGES),
  );
  if (finding.locations.length === 0) return undefined;
  // Nx Cloud's usual split: a read-only token committed for developers, a read-write one as a CI secret.
  finding.readWriteSplit = finding.exposed.length > 0;
  finding.ciVariables = [
    'NX_CLOUD_ACCESS_TOKEN',
    'NX_CLOUD_AUTH_TOKEN',
    'NX_CLOUD_ENCRYPTION_KEY (if set)',
    'NX_CLOUD_API / NX_CLOUD_ID (if set)',
  ];
  finding.revoke =
    "revoke the workspace's access tokens in Nx Cloud (workspace settings, Access tokens): the committed one first, then CI's";
  return finding;
}

/** Nx 21+ switches to Nx Cloud whenever a runner's options carry accessToken; a known cache runner's own is reported there. */
export function carriesCloudToken(runner: unknown, options: Json): boolean {
  return (
    options.accessToken !== undefined &&
    !isCustomCacheRunner(runner) &&
    !(typeof runner === 'string' && isOurRunner(runner))
  );
}

function findAdapter(adapter: Adapter, nxJson: NxJson, packageJson: Json | undefined): OtherCacheFinding | undefined {
  const finding = emptyFinding(adapter.provider, adapter.packages[0] ?? adapter.provider);
  const section = adapter.nxJsonKey ? nxJson[adapter.nxJsonKey] : undefined;
  if (adapter.nxJsonKey && section !== undefined) {
    finding.locations.push(`nx.json ${adapter.nxJsonKey}`);
    scanOptions(asObject(section), `nx.json ${adapter.nxJsonKey}`, finding);
    const modes = asObject(section) ?? {};
    finding.readWriteSplit ||= [modes.localMode, modes.ciMode].some((mode) => mode === 'read' || mode === 'no-cache');
  }
  finding.locations.push(
    ...pluginLocations(nxJson, adapter.packages),
    ...dependencyLocations(packageJson, adapter.packages),
  );
  if (finding.locations.length === 0) return undefined;
  finding.ciVariables = [...adapter.ciVariables];
  finding.revoke = adapter.revoke;
  return finding;
}

function findCustomRunners(nxJson: NxJson, packageJson: Json | undefined): OtherCacheFinding[] {
  const findings: OtherCacheFinding[] = [];
  const named = new Set<string>();
  for (const [name, entry] of runnerEntries(nxJson)) {
    if (!isCustomCacheRunner(entry.runner)) continue;
    named.add(entry.runner);
    const finding = emptyFinding('custom-runner', `the ${entry.runner} runner`);
    finding.locations.push(
      `nx.json tasksRunnerOptions.${name} (runner "${entry.runner}")`,
      ...dependencyLocations(packageJson, [entry.runner]),
    );
    const options = asObject(entry.options) ?? {};
    scanOptions(options, `nx.json tasksRunnerOptions.${name}.options`, finding);
    finding.readWriteSplit = options.readOnly === true || options.read === true || options.write === false;
    finding.ciVariables = ciVariablesOfRunner(entry.runner);
    finding.revoke = `revoke the storage credentials ${entry.runner} used (the access key / secret or SAS of its bucket or container)`;
    findings.push(finding);
  }
  // Installed but not wired: still worth removing, it would come back with the next `nx g` of that package.
  const packages = Object.keys({
    ...asObject(packageJson?.devDependencies),
    ...asObject(packageJson?.dependencies),
  }).filter((pkg) => isCustomCacheRunner(pkg) && !named.has(pkg));
  for (const pkg of packages) {
    const finding = emptyFinding('custom-runner', `the ${pkg} runner`);
    finding.locations.push(...dependencyLocations(packageJson, [pkg]));
    finding.ciVariables = ciVariablesOfRunner(pkg);
    finding.revoke = `revoke the storage credentials ${pkg} used`;
    findings.push(finding);
  }
  return findings;
}

function ciVariablesOfRunner(runner: string): string[] {
  const name = runner
    .replace(/^@[^/]+\//, '')
    .replace(/^nx-remotecache-/, '')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '_');
  const vars = [
    `NXCACHE_${name}_* (e.g. NXCACHE_${name}_ACCESS_KEY_ID, NXCACHE_${name}_SECRET_ACCESS_KEY)`,
    'NXCACHE_* / NX_CACHE_* variables the runner read from .env',
  ];
  if (/S3|MINIO|AWS/.test(name)) vars.push('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY');
  if (/AZURE/.test(name)) vars.push('AZURE_STORAGE_CONNECTION_STRING', 'AZURE_STORAGE_SAS_TOKEN');
  return vars;
}

/** Credentials and encryption keys among an old cache's options, by key name; values are only fingerprinted. */
function scanOptions(options: Json | undefined, where: string, finding: OtherCacheFinding): void {
  for (const [key, value] of Object.entries(options ?? {})) {
    if (typeof value !== 'string' || !value.trim()) continue;
    if (ENCRYPTION_KEY.test(key)) {
      finding.encryptionKeys.push(`${where}.${key}`);
      finding.exposed.push({ location: `${where}.${key}`, fingerprint: fingerprint(value) });
    } else if (SECRET_KEY.test(key)) {
      finding.exposed.push({ location: `${where}.${key}`, fingerprint: fingerprint(value) });
    }
  }
}

function pluginLocations(nxJson: NxJson, packages: readonly string[]): string[] {
  const plugins = Array.isArray(nxJson.plugins) ? (nxJson.plugins as unknown[]) : [];
  return plugins.flatMap((entry, index) => {
    const name = typeof entry === 'string' ? entry : asObject(entry)?.plugin;
    return typeof name === 'string' && packages.includes(name) ? [`nx.json plugins[${index}] "${name}"`] : [];
  });
}

function dependencyLocations(packageJson: Json | undefined, packages: readonly string[]): string[] {
  const out: string[] = [];
  for (const field of ['devDependencies', 'dependencies']) {
    const deps = asObject(packageJson?.[field]);
    for (const pkg of packages) if (deps && deps[pkg] !== undefined) out.push(`package.json ${field} "${pkg}"`);
  }
  return out;
}

export function runnerEntries(nxJson: NxJson): Array<[string, { runner?: unknown; options?: unknown }]> {
  const runners = asObject(nxJson.tasksRunnerOptions) ?? {};
  return Object.entries(runners).flatMap(([name, entry]) => {
    const object = asObject(entry);
    return object ? [[name, object] as [string, Json]] : [];
  });
}

function emptyFinding(provider: OtherCacheProvider, label: string): OtherCacheFinding {
  return {
    provider,
    label,
    locations: [],
    exposed: [],
    encryptionKeys: [],
    readWriteSplit: false,
    ciVariables: [],
    revoke: '',
  };
}

export function asObject(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}
