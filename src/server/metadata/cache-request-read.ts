/**
 * The one statement a cache request with a token costs on a shared store: the token by hash joined to its
 * user, its workspace (or the URL's), organisation, membership, override, and the requested hash's entries.
 * Plain joins both engines speak; replicas pay one round trip instead of four or more, and nothing is cached.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { AccessLevel } from '../../protocol';
import type { CacheRequestFacts } from './records';
import { SHARED_NAMESPACE } from '../tiers/write-tier';
import { toEntry, toMembership, toOrganisation, toToken, toUser, toWorkspace } from './row-mappers';
import type {
  EntriesTable,
  MembershipsTable,
  MemberWorkspaceAccessTable,
  MetadataDatabase,
  OrganisationsTable,
  TokensTable,
  UsersTable,
  WorkspacesTable,
} from './schema';

type Columns<T> = readonly (keyof Selectable<T> & string)[];

const TOKEN: Columns<TokensTable> = [
  'id',
  'kind',
  'name',
  'token_hash',
  'workspace_id',
  'user_id',
  'access',
  'tier',
  'scope',
  'created_at',
  'created_by_token_id',
  'expires_at',
  'revoked_at',
  'rotated_at',
  'last_used_at',
];
const USER: Columns<UsersTable> = ['id', 'name', 'bot', 'server_admin', 'owner_org_id', 'created_at'];
const WORKSPACE: Columns<WorkspacesTable> = [
  'id',
  'org_id',
  'name',
  'anonymous_access',
  'member_default_access',
  'personal_token_tier',
  'isolated_retention',
  'created_at',
];
const ORGANISATION: Columns<OrganisationsTable> = ['id', 'name', 'public', 'created_at'];
const MEMBERSHIP: Columns<MembershipsTable> = ['org_id', 'user_id', 'role', 'created_at'];
const OVERRIDE: Columns<MemberWorkspaceAccessTable> = ['access'];
const ENTRY: Columns<EntriesTable> = [
  'id',
  'workspace_id',
  'namespace',
  'hash',
  'blob_key',
  'size',
  'sha256',
  'writer_token_id',
  'writer_user_id',
  'created_at',
  'last_access_at',
  'quarantined_at',
];

const PARTS = [
  ['t', TOKEN],
  ['u', USER],
  ['w', WORKSPACE],
  ['o', ORGANISATION],
  ['m', MEMBERSHIP],
  ['a', OVERRIDE],
  ['e', ENTRY],
] as const;

// Fixed identifiers only (no input reaches sql.raw): `t.id as t__id, ...`.
const SELECT_LIST = sql.raw(
  PARTS.flatMap(([alias, columns]) => columns.map((c) => `"${alias}"."${c}" as "${alias}__${c}"`)).join(', '),
);

type Row = Record<string, unknown>;

/**
 * The namespaces the token may read, so the entries' (workspace, namespace, hash) key is used: `shared`, and
 * its isolated one as isolatedNamespaceOf (tiers/write-tier.ts) names it. Only a filter: the cache route
 * still picks by the request's placement; the metadata-store test holds the two in step.
 */
const OWN_NAMESPACE = sql.raw(
  "case when t.scope is not null then 's:' || t.scope " +
    "when t.kind = 'personal' and t.user_id is not null then 'u:' || t.user_id else 't:' || t.id end",
);

/** The columns of one alias, unprefixed; undefined when the left join found nothing (its key is null). */
function part<T>(row: Row, alias: string, columns: Columns<T>, key: string): Selectable<T> | undefined {
  if (row[`${alias}__${key}`] === null || row[`${alias}__${key}`] === undefined) return undefined;
  const out: Row = {};
  for (const c of columns) out[c] = row[`${alias}__${c}`];
  return out as Selectable<T>;
}

export async function readCacheRequest(
  db: Kysely<MetadataDatabase>,
  tokenHash: string,
  urlWorkspaceId: string | undefined,
  hash: string | undefined,
): Promise<CacheRequestFacts | undefined> {
  // The comment asks the PostgreSQL store to prepare it (postgres-metadata-store.ts); SQLite ignores it.
  const { rows } = await sql<Row>`/* prepared:cache_request */
    select ${SELECT_LIST}
    from tokens t
    left join users u on u.id = t.user_id
    left join workspaces w on w.id = coalesce(t.workspace_id, ${urlWorkspaceId ?? null})
    left join organisations o on o.id = w.org_id
    left join memberships m on m.org_id = w.org_id and m.user_id = t.user_id
    left join member_workspace_access a on a.workspace_id = w.id and a.user_id = t.user_id
    left join entries e on e.workspace_id = w.id
      and e.namespace in (${SHARED_NAMESPACE}, ${OWN_NAMESPACE})
      and e.hash = ${hash ?? null} and e.quarantined_at is null
    where t.token_hash = ${tokenHash}`.execute(db);
  const first = rows[0];
  if (first === undefined) return undefined;
  const token = part(first, 't', TOKEN, 'id');
  if (token === undefined) return undefined;
  const user = part(first, 'u', USER, 'id');
  const workspace = part(first, 'w', WORKSPACE, 'id');
  const organisation = part(first, 'o', ORGANISATION, 'id');
  const membership = part(first, 'm', MEMBERSHIP, 'org_id');
  const override = part(first, 'a', OVERRIDE, 'access');
  const entries = rows.flatMap((row) => {
    const entry = part(row, 'e', ENTRY, 'id');
    return entry === undefined ? [] : [toEntry(entry)];
  });
  return {
    token: toToken(token),
    user: user && toUser(user),
    workspace: workspace && toWorkspace(workspace),
    organisation: organisation && toOrganisation(organisation),
    membership: membership && toMembership(membership),
    override:
      override && workspace && token.user_id !== null
        ? { workspaceId: workspace.id, userId: token.user_id, access: override.access as AccessLevel }
        : undefined,
    entries: hash === undefined ? undefined : entries,
  };
}
