/** The policy's view of the world, read from the metadata store. */
import type { MetadataStore } from '../metadata/metadata-store';
import type { PolicyFacts } from './policy';

export function storePolicyFacts(store: MetadataStore): PolicyFacts {
  return {
    membership: (orgId, userId) => store.findMembership(orgId, userId),
    workspace: (id) => store.findWorkspace(id),
    user: (id) => store.findUser(id),
    exchangedToken: async (tokenId) => (await store.ciIdentity.findGrant(tokenId)) !== undefined,
  };
}
