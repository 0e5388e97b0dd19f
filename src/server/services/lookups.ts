import { SealedCacheError } from '../../errors';
import type { MetadataStore } from '../metadata/metadata-store';
import type { Organisation, TokenRecord, User, Workspace } from '../metadata/records';

export async function requireOrganisation(store: MetadataStore, idOrName: string): Promise<Organisation> {
  const org = await store.findOrganisation(idOrName);
  if (org === undefined) throw new SealedCacheError('ERR_ORG_NOT_FOUND', `no organisation "${idOrName}"`);
  return org;
}

export async function requireUser(store: MetadataStore, idOrName: string): Promise<User> {
  const user = await store.findUser(idOrName);
  if (user === undefined) throw new SealedCacheError('ERR_USER_NOT_FOUND', `no user "${idOrName}"`);
  return user;
}

export async function requireWorkspace(store: MetadataStore, id: string): Promise<Workspace> {
  const ws = await store.findWorkspace(id);
  if (ws === undefined) throw new SealedCacheError('ERR_WORKSPACE_NOT_FOUND', `no workspace "${id}"`);
  return ws;
}

export async function requireToken(store: MetadataStore, id: string): Promise<TokenRecord> {
  const token = await store.findToken(id);
  if (token === undefined) throw new SealedCacheError('ERR_TOKEN_NOT_FOUND', `no token "${id}"`);
  return token;
}
