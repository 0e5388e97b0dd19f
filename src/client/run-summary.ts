/** The one-line summaries printed at the start and end of a run. They name sources and key ids, never secrets. */
import type { SignatureRejection } from '../crypto/signature';
import type { AccessResponse } from '../protocol';
import type { ClientConfig, CredentialSource } from './config';
import { formatBytes } from '../format-bytes';
import { describeIdentity } from './ci-identity';

export interface RunStats {
  hits: number;
  misses: number;
  uploads: number;
  /** Artifacts not uploaded on purpose: read-only credential, already on the server, refused by the server, too large. */
  skippedUploads: number;
  bytesDown: number;
  bytesUp: number;
  failures: number;
  /** Hits whose signature verified, per signer key id. */
  verified: Record<string, number>;
  /** Entries the server had that were refused for their signature (counted as misses too). */
  unverified: number;
  /** The same, by why: only the first reason of a run is printed as a warning. */
  rejections: Partial<Record<SignatureRejection, number>>;
}

export type SessionMode = 'read-write' | 'read-only' | 'off';

export interface SessionState {
  mode: SessionMode;
  reason?: string;
  access?: AccessResponse;
}

export function createRunStats(): RunStats {
  return {
    hits: 0,
    misses: 0,
    uploads: 0,
    skippedUploads: 0,
    bytesDown: 0,
    bytesUp: 0,
    failures: 0,
    verified: {},
    unverified: 0,
    rejections: {},
  };
}

export function formatRunSummary(
  stats: RunStats,
  config: Pick<ClientConfig, 'credential' | 'keys' | 'workspaceId'> &
    Partial<Pick<ClientConfig, 'verification' | 'identity'>>,
  session: SessionState,
): string {
  const counts = [
    count(stats.hits, 'remote hit', 'remote hits') + describeVerifiedHits(stats, config),
    count(stats.misses, 'miss', 'misses'),
    count(stats.uploads, 'upload', 'uploads'),
  ];
  if (stats.unverified > 0)
    counts.push(`${stats.unverified} refused for their signature (${describeRejections(stats)})`);
  if (stats.skippedUploads > 0) counts.push(`${stats.skippedUploads} not uploaded`);
  if (stats.failures > 0) counts.push(count(stats.failures, 'failure', 'failures'));
  const traffic = `(${formatBytes(stats.bytesUp)} up, ${formatBytes(stats.bytesDown)} down)`;
  const head =
    session.mode === 'off'
      ? `remote cache off${session.reason ? ` (${shortReason(session.reason)})` : ''}`
      : `${counts.join(', ')} ${traffic}`;
  const parts = [head, describeSealing(config), describeCredential(config, session)];
  if (config.identity) parts.push(describeIdentity(config.identity));
  return `nx-sealed-cache: ${parts.join(' · ')}`;
}

/** The line shown once when a run starts: where the cache is, which credential, what it may do, sealing on or off. */
export function formatSessionHeader(
  config: Pick<ClientConfig, 'url' | 'credential' | 'keys' | 'workspaceId'> &
    Partial<Pick<ClientConfig, 'signingKey' | 'verification' | 'identity'>>,
  session: SessionState,
): string {
  const parts = [`remote cache ${config.url}`, describeCredential(config, session), describeSealing(config)];
  const signing = describeSigning(config);
  if (signing) parts.push(signing);
  if (config.identity) parts.push(describeIdentity(config.identity));
  if (session.mode === 'read-only')
    parts.push('read-only: this run restores from the remote cache but uploads nothing');
  return `nx-sealed-cache: ${parts.join(' · ')}`;
}

/** " (3 verified: 2 by key ab…, 1 by key cd…)" when signatures are checked; nothing otherwise. */
function describeVerifiedHits(stats: RunStats, config: Partial<Pick<ClientConfig, 'verification'>>): string {
  if (!config.verification || config.verification.signers.length === 0) return '';
  const byKey = Object.entries(stats.verified).sort(([a], [b]) => a.localeCompare(b));
  const total = byKey.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return stats.hits > 0 ? ' (none verified)' : '';
  return ` (${total} verified: ${byKey.map(([id, n]) => `${n} by key ${id}`).join(', ')})`;
}

const REJECTION_LABELS: Record<SignatureRejection, string> = {
  unsigned: 'unsigned',
  'unlisted-key': 'unlisted key',
  malformed: 'malformed',
  'bad-signature': 'bad signature',
};

function describeRejections(stats: RunStats): string {
  return (Object.keys(REJECTION_LABELS) as SignatureRejection[])
    .filter((reason) => (stats.rejections[reason] ?? 0) > 0)
    .map((reason) => `${stats.rejections[reason]} ${REJECTION_LABELS[reason]}`)
    .join(', ');
}

/** What the header says about signatures: whether this run signs, and what it accepts. */
export function describeSigning(
  config: Partial<Pick<ClientConfig, 'signingKey' | 'verification'>>,
): string | undefined {
  const parts: string[] = [];
  if (config.signingKey) parts.push(`signing with key ${config.signingKey.id}`);
  const verification = config.verification;
  if (verification && verification.signers.length > 0) {
    const keys = verification.signers.map((signer) => signer.id).join(', ');
    parts.push(`${verification.required ? 'signatures required' : 'signatures checked'} (key ${keys})`);
  }
  return parts.length > 0 ? parts.join(', ') : undefined;
}

export function describeSealing(config: Pick<ClientConfig, 'keys'>): string {
  const key = config.keys[0];
  return key ? `sealed with key ${key.id}` : 'encryption off';
}

const SOURCE_LABELS: Record<CredentialSource, string> = {
  env: 'token from NX_SEALED_CACHE_ACCESS_TOKEN',
  login: 'token from nx-sealed-cache login',
  'nx.json': 'token from nx.json (legacy)',
  none: 'anonymous',
  'ci-identity': 'token from the CI job identity',
};

export function describeCredential(
  config: Pick<ClientConfig, 'credential' | 'workspaceId'>,
  session: SessionState,
): string {
  const scope: string[] = [];
  if (session.access) scope.push(session.access.principal.kind);
  if (session.mode !== 'off') scope.push(session.mode);
  // An isolated writer's uploads reach only itself: say so, or people wonder why main never hits them.
  if (session.mode === 'read-write' && session.access?.tier === 'isolated' && session.access.namespace)
    scope.push(`isolated tier: ${session.access.namespace}`);
  const label =
    config.credential.source === 'none' && config.workspaceId
      ? `anonymous, workspace ${config.workspaceId}`
      : SOURCE_LABELS[config.credential.source];
  return scope.length > 0 ? `${label} (${scope.join(', ')})` : label;
}

/** The warning at the start of the run said it all; the summary repeats only the stable code when there is one. */
function shortReason(reason: string): string {
  const code = /\[(ERR_[A-Z0-9_]+)\]/.exec(reason)?.[1];
  return code ? `${code}, see the warning above` : reason;
}

function count(n: number, singular: string, plural: string): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
