/** Which workspace a cache request is for, and what the principal may do there. */
import { SealedCacheError } from '../../errors';
import { WORKSPACE_ID_PATTERN } from '../../protocol';
import type { MetadataStore } from '../metadata/metadata-store';
import type { CacheRequestFacts, Organisation, Workspace } from '../metadata/records';
import type { Principal } from './credentials';
import { type Access, type AccessInput, computeAccess } from './effective-access';

export interface WorkspaceAccess {
  principal: Principal;
  workspace: Workspace;
  organisation: Organisation;
  access: Access;
}

function chooseWorkspaceId(principal: Principal, urlWorkspaceId: string | undefined): string {
  if (urlWorkspaceId !== undefined && !WORKSPACE_ID_PATTERN.test(urlWorkspaceId)) {
    throw new SealedCacheError(
      'ERR_AUTH_WORKSPACE_REQUIRED',
      'the URL prefix /w/<id> does not hold a workspace id (ws_ + 20 letters or digits)',
    );
  }
  const bound = principal.kind === 'token' ? principal.token.workspaceId : null;
  if (bound !== null && urlWorkspaceId !== undefined && bound !== urlWorkspaceId) {
    throw new SealedCacheError(
      'ERR_AUTH_WORKSPACE_MISMATCH',
      `the token belongs to workspace ${bound}, not to ${urlWorkspaceId} named in the URL`,
    );
  }
  const chosen = bound ?? urlWorkspaceId;
  if (chosen === undefined) {
    throw new SealedCacheError(
      'ERR_AUTH_WORKSPACE_REQUIRED',
      'no workspace named: use a URL ending in /w/<workspace-id> or a workspace-bound token',
    );
  }
  return chosen;
}

async function accessInputFor(
  store: MetadataStore,
  principal: Principal,
  workspace: Workspace,
  organisation: Organisation,
): Promise<AccessInput> {
  if (principal.kind === 'anonymous') return { kind: 'anonymous', anonymousAccess: workspace.anonymousAccess };
  const { token } = principal;
  const tokenAccess = token.access ?? 'read';
  if (token.kind === 'ci') return { kind: 'ci', tokenAccess };
  const facts = factsFor(principal, workspace.id);
  const membership =
    token.userId === null
      ? undefined
      : facts
        ? facts.membership
        : await store.findMembership(organisation.id, token.userId);
  const override =
    membership && token.userId !== null
      ? facts
        ? facts.override
        : await store.findWorkspaceOverride(workspace.id, token.userId)
      : undefined;
  return {
    kind: 'personal',
    tokenAccess,
    orgPublic: organisation.public,
    membership: membership && { override: override?.access, memberDefaultAccess: workspace.memberDefaultAccess },
  };
}

/** What the credential's look already read about `workspaceId`, if it was that workspace. */
function factsFor(principal: Principal, workspaceId: string): CacheRequestFacts | undefined {
  const facts = principal.kind === 'token' ? principal.facts : undefined;
  return facts?.workspace?.id === workspaceId ? facts : undefined;
}

export async function resolveWorkspaceAccess(
  store: MetadataStore,
  principal: Principal,
  urlWorkspaceId: string | undefined,
): Promise<WorkspaceAccess> {
  // Before the workspace: an admin token never reads the cache, whichever workspace the URL names or not.
  if (principal.kind === 'token' && principal.token.kind === 'admin') {
    throw new SealedCacheError(
      'ERR_AUTH_TOKEN_KIND_REFUSED',
      'admin tokens are for the admin API only; use a CI or personal access token for the cache',
    );
  }
  const workspaceId = chooseWorkspaceId(principal, urlWorkspaceId);
  const facts = factsFor(principal, workspaceId);
  const workspace = facts ? facts.workspace : await store.findWorkspace(workspaceId);
  if (workspace === undefined) {
    throw new SealedCacheError('ERR_AUTH_WORKSPACE_REQUIRED', `workspace ${workspaceId} does not exist on this server`);
  }
  const organisation = facts ? facts.organisation : await store.findOrganisation(workspace.orgId);
  if (organisation === undefined)
    throw new SealedCacheError('ERR_INTERNAL', `workspace ${workspace.id} has no organisation`);
  const access = computeAccess(await accessInputFor(store, principal, workspace, organisation));
  return { principal, workspace, organisation, access };
}
