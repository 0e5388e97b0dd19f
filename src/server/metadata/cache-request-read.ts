/**
 * The one statement a cache request with a token costs on a shared store: the token by hash joined to its
 * user, its workspace (or the URL's), organisation, membership, override, and the requested hash's entries.
 * Plain joins both engines speak; replicas pay one round trip instead of four or more, and nothing is cached.
 */
import { CompiledQuery, type Kysely, type RawBuilder, type Selectable, sql } from 'kysely';
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
  ['es', ENTRY],
  ['ei', ENTRY],
] as const;

/** The column each left join's absence shows in (null when it found no row). */
const KEY_OF: Record<(typeof PARTS)[number][0], string> = {
  t: 'id',
  u: 'id',
  w: 'id',
  o: 'id',
  m: 'org_id',
  a: 'access',
  es: 'id',
  ei: 'id',
};

// Fixed identifiers only (no input reaches sql.raw): `t.id as t__id, ...`.
const SELECT_LIST = sql.raw(
  PARTS.flatMap(([alias, columns]) => columns.map((c) => `"${alias}"."${c}" as "${alias}__${c}"`)).join(', '),
);

/**
 * PostgreSQL only: each joined table's row as one json column (`to_json(t) as t`, null when its left join found
 * nothing). Eight fields instead of ninety-six: the driver parses a row description and a row of eight fields on
 * every answer, and `to_json` of a whole row costs the server less than building each object by name
 * (docs/benchmarks.md). Integers stay numbers, text stays text, null stays null; columns beyond the ones
 * listed above are ignored by the mappers. The result's type is json whatever the tables hold, so a migration
 * adding a column cannot change a prepared statement's result type.
 */
const JSON_SELECT_LIST = sql.raw(PARTS.map(([alias]) => `to_json("${alias}") as "${alias}"`).join(', '));

type Row = Record<string, unknown>;

/**
 * The token's isolated namespace, as isolatedNamespaceOf (tiers/write-tier.ts) names it, so both entry
 * lookups (`shared`, and this) follow the entries' unique (workspace, namespace, hash) key whatever the
 * table's size. Only what is read: the cache route still picks by the request's placement; the
 * metadata-store test holds the two in step.
 */
const OWN_NAMESPACE = sql.raw(
  "case when t.scope is not null then 's:' || t.scope " +
    "when t.kind = 'personal' and t.user_id is not null then 'u:' || t.user_id else 't:' || t.id end",
);

/** One joined table's columns, unprefixed; undefined when its left join found nothing. */
type PartOf = <T>(alias: (typeof PARTS)[number][0], columns: Columns<T>) => Selectable<T> | undefined;

/** From SELECT_LIST's `alias__column` fields; a left join found nothing when its key column is null. */
const prefixedParts =
  (row: Row): PartOf =>
  <T>(alias: (typeof PARTS)[number][0], columns: Columns<T>) => {
    const key = row[`${alias}__${KEY_OF[alias]}`];
    if (key === null || key === undefined) return undefined;
    const out: Row = {};
    for (const c of columns) out[c] = row[`${alias}__${c}`];
    return out as Selectable<T>;
  };

/** From JSON_SELECT_LIST's one object per alias (null when its left join found nothing). */
const jsonParts =
  (row: Row): PartOf =>
  <T>(alias: (typeof PARTS)[number][0]) =>
    (row[alias] ?? undefined) as Selectable<T> | undefined;

/** The joins after the token, the same in the one-request and the batched statement (no parameters). */
const JOINS = sql`
    left join users u on u.id = t.user_id
    left join workspaces w on w.id = coalesce(t.workspace_id, r.workspace_id)
    left join organisations o on o.id = w.org_id
    left join memberships m on m.org_id = w.org_id and m.user_id = t.user_id
    left join member_workspace_access a on a.workspace_id = w.id and a.user_id = t.user_id
    left join entries es on es.workspace_id = w.id and es.namespace = ${sql.lit(SHARED_NAMESPACE)}
      and es.hash = r.hash and es.quarantined_at is null
    left join entries ei on ei.workspace_id = w.id and ei.namespace = ${OWN_NAMESPACE}
      and ei.hash = r.hash and ei.quarantined_at is null`;

/** One request's facts from its row's parts (undefined: no row, the token is unknown). */
function factsOf(part: PartOf | undefined, hash: string | undefined): CacheRequestFacts | undefined {
  if (part === undefined) return undefined;
  const token = part('t', TOKEN);
  if (token === undefined) return undefined;
  const user = part('u', USER);
  const workspace = part('w', WORKSPACE);
  const organisation = part('o', ORGANISATION);
  const membership = part('m', MEMBERSHIP);
  const override = part('a', OVERRIDE);
  const entries = [part('es', ENTRY), part('ei', ENTRY)].flatMap((entry) =>
    entry === undefined ? [] : [toEntry(entry)],
  );
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

/**
 * One request's statement: the token by hash, and its joins with the URL's workspace and the hash as `r`. `name`
 * asks the PostgreSQL store to prepare it (postgres-metadata-store.ts); SQLite ignores the comment.
 */
function oneRequest(
  name: string,
  select: RawBuilder<unknown>,
  urlWorkspaceId: string | null,
  hash: string | null,
  tokenHash: string,
): RawBuilder<Row> {
  return sql<Row>`${sql.raw(`/* prepared:${name} */`)}
    select ${select}
    from tokens t
    cross join (select cast(${urlWorkspaceId} as text) as workspace_id, cast(${hash} as text) as hash) r
    ${JOINS}
    where t.token_hash = ${tokenHash}`;
}

/** One request, in plain SQL both engines speak (a store without remembered lookups on SQLite runs it). */
export async function readCacheRequest(
  db: Kysely<MetadataDatabase>,
  tokenHash: string,
  urlWorkspaceId: string | undefined,
  hash: string | undefined,
): Promise<CacheRequestFacts | undefined> {
  const { rows } = await oneRequest(
    'cache_request',
    SELECT_LIST,
    urlWorkspaceId ?? null,
    hash ?? null,
    tokenHash,
  ).execute(db);
  return factsOf(rows[0] && prefixedParts(rows[0]), hash);
}

interface Waiting {
  tokenHash: string;
  urlWorkspaceId: string | undefined;
  hash: string | undefined;
  resolve(facts: CacheRequestFacts | undefined): void;
  reject(err: unknown): void;
}

/** The batched statement's text; its only parameters are the three arrays, in this order. */
function batchStatement(db: Kysely<MetadataDatabase>): string {
  const compiled = sql<Row>`/* prepared:cache_request_batch */
    select r.n as "r__n", ${JSON_SELECT_LIST}
    from unnest(${[]}::text[], ${[]}::text[], ${[]}::text[]) with ordinality as r(token_hash, workspace_id, hash, n)
    join tokens t on t.token_hash = r.token_hash
    ${JOINS}`.compile(db);
  if (compiled.parameters.length !== 3) throw new Error('the batched cache request statement takes three arrays');
  return compiled.sql;
}

/**
 * A lone request's statement (the same answer as a batch of one, without unnesting three arrays): its only
 * parameters are the workspace, the hash and the token hash, in this order.
 */
function loneStatement(db: Kysely<MetadataDatabase>): string {
  const select = sql`1 as "r__n", ${JSON_SELECT_LIST}`;
  const compiled = oneRequest('cache_request_one', select, null, null, '').compile(db);
  if (compiled.parameters.length !== 3) throw new Error('the lone cache request statement takes three values');
  return compiled.sql;
}

/** Requests per batched statement at most. */
const MAX_BATCH = 256;

/**
 * PostgreSQL only: the cache requests that reach this point in one turn of the event loop are read in one
 * statement (`unnest` of their token hashes, workspaces and hashes), so under load a replica sends one round
 * trip per batch instead of one per request; a lone request waits for nothing but that turn, and is read by a
 * statement of its own (the batch's answer, without the arrays). Each request's answer is read at the moment
 * of the statement, as before: nothing is remembered between batches.
 */
export class CacheRequestBatcher {
  private waiting: Waiting[] = [];

  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  read(tokenHash: string, urlWorkspaceId: string | undefined, hash: string | undefined) {
    return new Promise<CacheRequestFacts | undefined>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ tokenHash, urlWorkspaceId, hash, resolve, reject });
    });
  }

  private flush(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (let at = 0; at < waiting.length; at += MAX_BATCH) void this.readBatch(waiting.slice(at, at + MAX_BATCH));
  }

  /** The statements' texts, compiled once: each batch sends one with its own values. */
  private statements: { batch: string; lone: string } | undefined;

  private async readBatch(batch: Waiting[]): Promise<void> {
    try {
      this.statements ??= { batch: batchStatement(this.db), lone: loneStatement(this.db) };
      const lone = batch.length === 1 ? batch[0] : undefined;
      const query =
        lone === undefined
          ? CompiledQuery.raw(this.statements.batch, [
              batch.map((w) => w.tokenHash),
              batch.map((w) => w.urlWorkspaceId ?? null),
              batch.map((w) => w.hash ?? null),
            ])
          : CompiledQuery.raw(this.statements.lone, [lone.urlWorkspaceId ?? null, lone.hash ?? null, lone.tokenHash]);
      const { rows } = await this.db.executeQuery<Row>(query);
      // One row per request whose token exists (each join finds at most one row: they follow unique keys).
      const byRequest = new Map(rows.map((row) => [Number(row.r__n), row]));
      batch.forEach((w, i) => {
        const row = byRequest.get(i + 1);
        w.resolve(factsOf(row && jsonParts(row), w.hash));
      });
    } catch (err) {
      // One request's values failing the statement must not fail the others: each is asked alone then.
      if (batch.length === 1) batch[0]?.reject(err);
      else for (const w of batch) void this.readBatch([w]);
    }
  }
}
