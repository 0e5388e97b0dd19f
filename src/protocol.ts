/**
 * Wire contracts shared by the server and its clients (runner, proxy, CLI): hash and id patterns,
 * `/v1/access` and error bodies, as zod schemas. Not everything on the wire: the CLI's browser-login
 * answers live in src/cli/browser-login.ts and the proxy's control channel in src/proxy/control-protocol.ts.
 */
import { z } from 'zod';
import {
  hasControlCharacter,
  RUN_REPORT_MAX_TASKS,
  RUN_TASK_MAX_DURATION_MS,
  RUN_TASK_STATUSES,
} from './run-report-shape';

/** Nx 20 sends hex or decimal hashes, Nx 24 decimal u64s; anything else is refused before storage is touched. */
export const CACHE_HASH_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Public workspace ids, as they appear in `/w/<workspace-id>/v1/cache/...` and nx.json `workspaceId`. */
export const WORKSPACE_ID_PATTERN = /^ws_[A-Za-z0-9]{20}$/;

export const ACCESS_LEVELS = ['none', 'read', 'read-write'] as const;
export const AccessLevel = z.enum(ACCESS_LEVELS);
export type AccessLevel = z.infer<typeof AccessLevel>;

export const TOKEN_KINDS = ['ci', 'personal', 'admin'] as const;
export const TokenKind = z.enum(TOKEN_KINDS);
export type TokenKind = z.infer<typeof TokenKind>;

/** `GET /v1/access` (or `/w/<id>/v1/access`): what the calling credential may do. Never carries a secret. */
export const AccessResponse = z.object({
  server: z.object({ version: z.string() }),
  workspace: z.object({
    id: z.string(),
    name: z.string(),
    organisation: z.object({ id: z.string(), name: z.string() }),
  }),
  principal: z.object({
    kind: z.enum(['anonymous', ...TOKEN_KINDS]),
    tokenId: z.string().nullable(),
    tokenName: z.string().nullable(),
    user: z.object({ id: z.string(), name: z.string(), bot: z.boolean() }).nullable(),
  }),
  access: z.object({ read: z.boolean(), write: z.boolean() }),
  expiresAt: z.string().nullable(),
  /** Write tier: where this credential's writes land (null when it cannot write; absent from older servers). */
  tier: z.enum(['trusted', 'isolated']).nullable().optional(),
  /** Where writes land, for people: `shared`, `scope pr-123`, `user usr_...`, `token tok_...`. */
  namespace: z.string().nullable().optional(),
});
export type AccessResponse = z.infer<typeof AccessResponse>;

/** Every JSON error the server sends. Cache-route 401s are `text/plain` instead, so Nx prints them. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Admin API answers the CLI reads (the server's presenters return these types; the CLI parses them). */
export const OrganisationJson = z.object({ id: z.string(), name: z.string(), public: z.boolean() });
export type OrganisationJson = z.infer<typeof OrganisationJson>;

/** An organisation's web sign-in policy (docs/sso.md). */
export const SignInPolicyJson = z.object({
  org: z.string(),
  requiredProvider: z.string().nullable(),
  joinDomains: z.array(z.object({ domain: z.string(), role: z.enum(['admin', 'member']) })),
  /** How often members' SSO identities are re-checked at the provider (docs/sso.md). */
  recheckInterval: z.string().optional(),
});
export type SignInPolicyJson = z.infer<typeof SignInPolicyJson>;

export const UserJson = z.object({
  id: z.string(),
  name: z.string(),
  bot: z.boolean(),
  ownerOrgId: z.string().nullable().optional(),
});
export type UserJson = z.infer<typeof UserJson>;

export const WorkspaceJson = z.object({
  id: z.string(),
  name: z.string(),
  orgId: z.string(),
  /** The organisation's name (absent from older servers). */
  org: z.string().optional(),
  anonymousAccess: AccessLevel,
  memberDefaultAccess: z.enum(['read', 'read-write']),
  personalTokenTier: z.string(),
  isolatedRetention: z.string(),
});
export type WorkspaceJson = z.infer<typeof WorkspaceJson>;

export const TokenJson = z.object({
  id: z.string(),
  kind: TokenKind,
  workspaceId: z.string().nullable(),
  userId: z.string().nullable(),
  access: z.string().nullable(),
  tier: z.string().nullable(),
  scope: z.string().nullable(),
  name: z.string().nullable(),
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  rotatedAt: z.string().nullable(),
  /** Where its writes land, as the cache decides it (`workspace policy`: an unbound personal token; null: admin). */
  writeTier: z.enum(['trusted', 'isolated', 'workspace policy']).nullable().optional(),
  /** Display names of `workspaceId` and `userId`, for lists read by people (older servers omit them). */
  workspaceName: z.string().nullable().optional(),
  userName: z.string().nullable().optional(),
});
export type TokenJson = z.infer<typeof TokenJson>;

/** Create and rotate answers: the token's fields plus its value, shown this once. */
export const IssuedTokenJson = TokenJson.extend({ token: z.string() });
export type IssuedTokenJson = z.infer<typeof IssuedTokenJson>;

/** `POST /tokens/mint`: an issued isolated token and the namespace its writes go to. */
export const MintedTokenJson = IssuedTokenJson.extend({ namespace: z.string() });
export type MintedTokenJson = z.infer<typeof MintedTokenJson>;

export const MemberJson = z.object({
  orgId: z.string(),
  userId: z.string(),
  userName: z.string().nullable(),
  role: z.enum(['admin', 'member']),
  workspaceAccess: z.record(z.string(), z.string()),
});
export type MemberJson = z.infer<typeof MemberJson>;

export const InvitationJson = z.object({
  id: z.string(),
  orgId: z.string(),
  orgName: z.string().nullable(),
  userId: z.string(),
  userName: z.string().nullable(),
  role: z.enum(['admin', 'member']),
  createdAt: z.string(),
  expiresAt: z.string(),
});
export type InvitationJson = z.infer<typeof InvitationJson>;

/** `POST /orgs/:org/members`: a server admin adds at once (201), an org admin invites (202). */
export const MemberAddedJson = z.union([
  MemberJson,
  z.object({ invited: z.literal(true), invitation: InvitationJson }),
]);
export type MemberAddedJson = z.infer<typeof MemberAddedJson>;

export const MemberRemovedJson = z.object({ removed: z.literal(true), orgId: z.string(), userId: z.string() });
export type MemberRemovedJson = z.infer<typeof MemberRemovedJson>;

export const InvitationAnswerJson = z.object({
  id: z.string(),
  orgId: z.string(),
  accepted: z.boolean(),
  role: z.enum(['admin', 'member']).nullable(),
});
export type InvitationAnswerJson = z.infer<typeof InvitationAnswerJson>;

export const AuditEventJson = z.object({
  id: z.number(),
  at: z.string(),
  action: z.string(),
  actorTokenId: z.string().nullable(),
  actorUserId: z.string().nullable(),
  orgId: z.string().nullable(),
  workspaceId: z.string().nullable(),
  targetId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  /** Display names for the ids above and in `details` (absent from older servers; an id without a name is shown as is). */
  names: z.record(z.string(), z.string()).optional(),
});
export type AuditEventJson = z.infer<typeof AuditEventJson>;

/** What one retention pass removed, by reason (`age`, `size`, `isolated`, `orphan`, `tmp`, `ci-tokens`). */
export const RetentionTallyJson = z.record(z.string(), z.object({ count: z.number(), bytes: z.number() }));
export type RetentionTallyJson = z.infer<typeof RetentionTallyJson>;

/** `POST /api/v1/retention/run`. */
export const RetentionRunJson = z.object({ removed: RetentionTallyJson });

/** Run-report totals: tasks, hits (local and remote), misses, failures, time saved and hits whose saving is unknown. */
export const RunTotalsJson = z.object({
  tasks: z.number(),
  hits: z.number(),
  misses: z.number(),
  failed: z.number(),
  savedMs: z.number(),
  savedUnknown: z.number(),
});
export type RunTotalsJson = z.infer<typeof RunTotalsJson>;

/** `GET /api/v1/stats`: hits and misses are counted by this process since it started. */
export const StatsJson = z.object({
  storage: z.object({ entries: z.number(), bytes: z.number() }),
  workspaces: z.array(
    z.object({
      workspaceId: z.string(),
      entries: z.number(),
      bytes: z.number(),
      /** The workspace's and its organisation's names (absent from older servers, or for a workspace gone since). */
      name: z.string().optional(),
      org: z.string().optional(),
      /** From its run reports of the last `runReports.days` days (absent from older servers, or with no report). */
      runs: RunTotalsJson.optional(),
    }),
  ),
  cache: z.object({ hits: z.number(), misses: z.number() }),
  /** Every workspace's run reports of the last `days` days: hit rate and time saved (absent from older servers). */
  runReports: RunTotalsJson.extend({ days: z.number() }).optional(),
  retention: z.object({ lastRunAt: z.string().nullable(), removedSinceStart: RetentionTallyJson }),
});
export type StatsJson = z.infer<typeof StatsJson>;

export const EntryJson = z.object({
  id: z.number(),
  workspaceId: z.string(),
  namespace: z.string(),
  namespaceDisplay: z.string(),
  tier: z.enum(['shared', 'isolated']),
  hash: z.string(),
  size: z.number(),
  sha256: z.string(),
  writerTokenId: z.string().nullable(),
  writerUserId: z.string().nullable(),
  writerUserName: z.string().nullable(),
  writerBot: z.boolean().nullable(),
  /** The CI job behind a token from a CI identity exchange: `<repo>@<ref> (run <id>, <actor>)` (absent from older servers). */
  writerIdentity: z.string().nullable().optional(),
  createdAt: z.string(),
  lastAccessAt: z.string(),
  quarantinedAt: z.string().nullable(),
});
export type EntryJson = z.infer<typeof EntryJson>;

/** Quarantine and purge answers: what was done, to which filter, to how many entries. */
export const EntryActionJson = z.object({
  action: z.enum(['quarantined', 'purged']),
  filter: z.record(z.string(), z.unknown()),
  count: z.number(),
});
export type EntryActionJson = z.infer<typeof EntryActionJson>;

/** A workspace's CI identity trust policy (docs/ci-identity.md), as the admin API answers it. */
export const TrustPolicyJson = z.object({
  id: z.string(),
  workspaceId: z.string(),
  name: z.string(),
  provider: z.enum(['github', 'gitlab', 'custom']),
  issuer: z.string(),
  audience: z.string(),
  jwksUrl: z.string().nullable(),
  inlineKeys: z.number(),
  rules: z.array(
    z.object({
      name: z.string().optional(),
      claims: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
      outcome: z.enum(['trusted', 'isolated', 'read-only', 'refused']),
      scope: z.string().optional(),
    }),
  ),
  tokenLifetime: z.string(),
  createdAt: z.string(),
});
export type TrustPolicyJson = z.infer<typeof TrustPolicyJson>;

/** Run reports (`POST /v1/runs`): the few facts of a run the server cannot see itself. Never file contents or secrets. */
export const RUN_REPORT_MAX_BYTES = 512 * 1024;
export { RUN_REPORT_MAX_TASKS, RUN_TASK_MAX_DURATION_MS, RUN_TASK_STATUSES } from './run-report-shape';
export type { RunTaskStatus } from './run-report-shape';

const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !hasControlCharacter(value), 'printable characters only');

export const RunTaskReport = z.strictObject({
  /** Nx's task id, `project:target[:configuration]`. */
  id: printable(400),
  project: printable(200),
  target: printable(200),
  hash: z.string().regex(CACHE_HASH_PATTERN, 'a task hash (1-128 of [A-Za-z0-9_-])'),
  status: z.enum(RUN_TASK_STATUSES),
  durationMs: z.number().int().min(0).max(RUN_TASK_MAX_DURATION_MS).nullable(),
});
export type RunTaskReport = z.infer<typeof RunTaskReport>;

export const RunReport = z.strictObject({
  client: z.enum(['plugin', 'runner']),
  nxVersion: z
    .string()
    .regex(/^[0-9A-Za-z.+-]{1,40}$/, 'a version like 24.0.6')
    .nullable(),
  startedAt: z.iso.datetime().nullable(),
  endedAt: z.iso.datetime().nullable(),
  tasks: z.array(RunTaskReport).max(RUN_REPORT_MAX_TASKS),
});
export type RunReport = z.infer<typeof RunReport>;

/** The answer: 201 stored, or 200 `stored: false` when the workspace takes no reports (clients treat both as done). */
export const RunReportAnswer = z.object({
  stored: z.boolean(),
  id: z.string().nullable(),
  reason: z.string().optional(),
});
export type RunReportAnswer = z.infer<typeof RunReportAnswer>;
