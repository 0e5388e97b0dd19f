/** The cache routes' view of tiers: which entry a request sees, and where its write lands. */
import type { FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../errors';
import { workspaceAccessOf } from '../auth/route-auth';
import type { MetadataStore } from '../metadata/metadata-store';
import type { CacheEntry } from '../metadata/records';
import { type TierPlacement, placementOf } from './write-tier';

export function placementOfRequest(request: FastifyRequest): TierPlacement {
  const { principal, workspace, access } = workspaceAccessOf(request);
  return placementOf(principal, workspace, access);
}

/** The hash's entries read with the request's credential (one look on a shared store), if they were. */
export function knownEntriesOf(request: FastifyRequest): CacheEntry[] | undefined {
  const { principal, workspace } = workspaceAccessOf(request);
  const facts = principal.kind === 'token' ? principal.facts : undefined;
  return facts?.workspace?.id === workspace.id ? facts.entries : undefined;
}

/** The first entry found in the namespaces the request may read, own namespace first. */
export async function findVisibleEntry(
  store: MetadataStore,
  workspaceId: string,
  placement: TierPlacement,
  hash: string,
  known: CacheEntry[] | undefined,
): Promise<CacheEntry | undefined> {
  for (const namespace of placement.readNamespaces) {
    const entry =
      known === undefined
        ? await store.findEntry(workspaceId, namespace, hash)
        : known.find((e) => e.workspaceId === workspaceId && e.namespace === namespace && e.hash === hash);
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/** Write-once per namespace, and an isolated write of a hash the reader would get from `shared` anyway is refused too. */
export async function requireWritable(
  store: MetadataStore,
  workspaceId: string,
  placement: TierPlacement,
  hash: string,
  known: CacheEntry[] | undefined,
): Promise<string> {
  const namespace = placement.writeNamespace;
  if (namespace === null) throw new SealedCacheError('ERR_CACHE_WRITE_DENIED', 'this credential may not write');
  if ((await findVisibleEntry(store, workspaceId, placement, hash, known)) !== undefined) {
    throw new SealedCacheError('ERR_CACHE_ENTRY_EXISTS', `an entry for hash ${hash} already exists`);
  }
  return namespace;
}
