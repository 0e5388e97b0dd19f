/**
 * Write tiers (CVE-2025-36852, "CREEP"): where a credential's writes land and which namespaces its
 * reads see. Pure, so the whole table is easy to read and to test.
 *   trusted writer, read-only, anonymous reader: read `shared`; trusted writes land in `shared`
 *   isolated writer: reads its own namespace, then `shared`; writes only its own namespace
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../auth/credentials';
import type { Access } from '../auth/effective-access';
import type { TokenRecord, Workspace, WriteTier } from '../metadata/records';

export const SHARED_NAMESPACE = 'shared';
export const WRITE_TIERS = ['trusted', 'isolated'] as const;
export const WriteTierSchema = z.enum(WRITE_TIERS);
/** The safe default for new tokens and workspaces: nothing they write reaches anyone else. */
export const DEFAULT_WRITE_TIER: WriteTier = 'isolated';

/** Mint scopes, e.g. `pr-123` or `feature/login`; never used in a file path. */
export const SCOPE_PATTERN = /^[A-Za-z0-9._/-]{1,100}$/;

export interface TierPlacement {
  tier: WriteTier | null;
  /** Where a PUT lands; null when the credential cannot write. */
  writeNamespace: string | null;
  /** Where a GET looks, in order. */
  readNamespaces: string[];
}

const SHARED_ONLY: TierPlacement = { tier: null, writeNamespace: null, readNamespaces: [SHARED_NAMESPACE] };

/** The tier a token writes with in a workspace: its own, else the kind's default. */
export function tierOfToken(
  token: Pick<TokenRecord, 'kind' | 'tier' | 'scope'>,
  workspace: Pick<Workspace, 'personalTokenTier'>,
): WriteTier {
  if (token.scope !== null) return 'isolated';
  if (token.tier !== null) return token.tier;
  return token.kind === 'personal' ? workspace.personalTokenTier : DEFAULT_WRITE_TIER;
}

/**
 * The tier a token writes with, as the cache routes decide it (tiers/write-tier.ts): its own, else its kind's
 * default; a personal token not bound to a workspace follows each workspace's policy; admin tokens have none.
 */
export function effectiveTierOf(
  token: Pick<TokenRecord, 'kind' | 'tier' | 'scope'>,
  workspace: Pick<Workspace, 'personalTokenTier'> | undefined,
): WriteTier | 'workspace policy' | null {
  if (token.kind === 'admin') return null;
  if (workspace !== undefined) return tierOfToken(token, workspace);
  if (token.scope !== null || token.tier !== null || token.kind !== 'personal')
    return tierOfToken(token, { personalTokenTier: DEFAULT_WRITE_TIER });
  return 'workspace policy';
}

/** The isolated namespace of a writer: per mint scope, per user, per token, or one for anonymous writers. */
export function isolatedNamespaceOf(principal: Principal): string {
  if (principal.kind === 'anonymous') return 'anonymous';
  const { token } = principal;
  if (token.scope !== null) return `s:${token.scope}`;
  if (token.kind === 'personal' && token.userId !== null) return `u:${token.userId}`;
  return `t:${token.id}`;
}

export function placementOf(
  principal: Principal,
  workspace: Pick<Workspace, 'personalTokenTier'>,
  access: Pick<Access, 'write'>,
): TierPlacement {
  if (!access.write) return SHARED_ONLY;
  const tier = principal.kind === 'anonymous' ? 'isolated' : tierOfToken(principal.token, workspace);
  if (tier === 'trusted') return { tier, writeNamespace: SHARED_NAMESPACE, readNamespaces: [SHARED_NAMESPACE] };
  const own = isolatedNamespaceOf(principal);
  return { tier, writeNamespace: own, readNamespaces: [own, SHARED_NAMESPACE] };
}

/** `shared`, `scope pr-123`, `user usr_…`, `token tok_…`, `anonymous`: for whoami and the access endpoint. */
export function describeNamespace(namespace: string): string {
  if (namespace.startsWith('s:')) return `scope ${namespace.slice(2)}`;
  if (namespace.startsWith('u:')) return `user ${namespace.slice(2)}`;
  if (namespace.startsWith('t:')) return `token ${namespace.slice(2)}`;
  return namespace;
}

/** The folder of a namespace under the workspace's blobs: scopes may hold `/` or `..`, so isolated ones are hashed. */
export function blobFolderOf(namespace: string): string {
  if (namespace === SHARED_NAMESPACE) return SHARED_NAMESPACE;
  return `iso-${createHash('sha256').update(namespace, 'utf8').digest('hex').slice(0, 32)}`;
}
