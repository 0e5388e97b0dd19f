/**
 * The authorization policy: the one place that says whether an actor may perform an action on a
 * resource. Routes declare the action (route-policy.ts); handlers never decide. The rules read the
 * world only through PolicyFacts, so the whole policy is testable without a server.
 */
import type { ErrorCode } from '../../errors';
import type {
  Membership,
  Organisation,
  OrgInvitation,
  TokenRecord,
  User,
  Workspace,
  WriteTier,
} from '../metadata/records';
import { tierOfToken } from '../tiers/write-tier';
import { type Actor, isServerAdmin, userOf } from './actors';
import type { Access } from './effective-access';
import type { WorkspaceAccess } from './workspace-access';

export const ACTIONS = [
  'server.probe',
  'web.public',
  'login.device',
  'scim.provision',
  'session.self',
  'account.read',
  'account.set-password',
  'org.create',
  'org.list',
  'org.read',
  'sign-in-policy.read',
  'sign-in-policy.change',
  'user.create',
  'user.list',
  'stats.read',
  'retention.run',
  'sso.recheck',
  'backup.create',
  'audit.read',
  'member.list',
  'member.add',
  'member.change',
  'member.remove',
  'invite.create',
  'bot.create',
  'invitation.list',
  'invitation.answer',
  'workspace.create',
  'workspace.list',
  'workspace.read',
  'workspace.change',
  'entries.read',
  'entries.change',
  'token.list',
  'token.create',
  'token.manage',
  'token.mint',
  'trust-policy.manage',
  'ci-identity.exchange',
  'cache.read',
  'cache.write',
  'cache.identify',
  'runs.report',
] as const;
export type Action = (typeof ACTIONS)[number];

/** A token about to be created, as the route resolved it from the request. */
export interface NewTokenSpec {
  kind: TokenRecord['kind'];
  userId: string | null;
  workspaceId: string | null;
  tier: WriteTier | null;
}

export type Resource =
  | { kind: 'none' }
  | { kind: 'org'; org: Organisation }
  | { kind: 'workspace'; workspace: Workspace }
  | { kind: 'user'; user: User }
  /** A user as a (would-be) member of an organisation. */
  | { kind: 'member'; org: Organisation; user: User }
  | { kind: 'token'; token: TokenRecord }
  | { kind: 'new-token'; spec: NewTokenSpec }
  /** Minting in a workspace; `minterAccess` is the personal minter's own access there. */
  | { kind: 'mint'; workspace: Workspace; minterAccess: Access | undefined }
  | { kind: 'invitation'; invitation: OrgInvitation }
  /** A cache request: the workspace and what the credential may do there (effective-access.ts). */
  | { kind: 'cache'; workspace: Workspace; access: Access; resolved: WorkspaceAccess };

/** Where the request came in: the web page knows only sessions, the API only tokens. */
export type Channel = 'api' | 'web';

export type Decision =
  | {
      allowed: true;
      /** member.add: whether it takes effect now (server admins) or waits for the user's acceptance. */ directly?: boolean;
    }
  | { allowed: false; code: ErrorCode; reason: string };

/** What the rules may look up; store-backed in the server (policy-facts.ts), plain maps in unit tests. */
export interface PolicyFacts {
  membership(orgId: string, userId: string): Promise<Membership | undefined>;
  workspace(id: string): Promise<Workspace | undefined>;
  user(id: string): Promise<User | undefined>;
  /** Whether a CI token came from a CI identity exchange (such tokens live an hour and never mint). */
  exchangedToken?(tokenId: string): Promise<boolean>;
}

interface RuleInput {
  actor: Actor;
  resource: Resource;
  facts: PolicyFacts;
  channel: Channel;
}

interface Rule {
  /** The rule in words, for the permission table in the docs. */
  who: string;
  /** No credential is looked at (health probes, sign-in page, device-code login): the route may declare `via: 'none'`. */
  open?: true;
  /** Decided from the actor alone, before the resource is even looked up (so a refused caller learns nothing of it). */
  gate?(actor: Actor, channel: Channel): Decision | undefined;
  check(input: RuleInput): Promise<Decision>;
}

const ALLOW: Decision = { allowed: true };
const deny = (reason: string, code: ErrorCode = 'ERR_AUTH_FORBIDDEN'): Decision => ({ allowed: false, code, reason });

/** The gate of every API and page action: a credential of a kind that may use it. */
function signedIn({ actor, channel }: Pick<RuleInput, 'actor' | 'channel'>): Decision | undefined {
  if (actor.kind === 'anonymous') {
    return channel === 'web'
      ? deny('sign in to see this page', 'ERR_WEB_SESSION_REQUIRED')
      : deny('the admin API needs a token (--token or NX_SEALED_CACHE_ACCESS_TOKEN)', 'ERR_AUTH_TOKEN_MISSING');
  }
  if (actor.kind === 'ci')
    return deny('CI tokens cannot use the admin API; use an admin or personal token', 'ERR_AUTH_TOKEN_KIND_REFUSED');
  return undefined;
}

function bindingAllows(actor: Actor, workspaceId: string | null): Decision | undefined {
  if (actor.kind !== 'personal' || actor.boundWorkspaceId === null || actor.boundWorkspaceId === workspaceId)
    return undefined;
  return deny(`this token is bound to workspace ${actor.boundWorkspaceId} and acts nowhere else`);
}

async function isOrgAdmin(input: RuleInput, orgId: string): Promise<boolean> {
  if (isServerAdmin(input.actor)) return true;
  const user = userOf(input.actor);
  if (user === undefined || input.actor.kind === 'admin-token') return false;
  return (await input.facts.membership(orgId, user.id))?.role === 'admin';
}

async function isOrgMember(input: RuleInput, orgId: string): Promise<boolean> {
  if (isServerAdmin(input.actor)) return true;
  const user = userOf(input.actor);
  if (user === undefined || input.actor.kind === 'admin-token') return false;
  return (await input.facts.membership(orgId, user.id)) !== undefined;
}

function orgIdOf(resource: Resource): string | undefined {
  if (resource.kind === 'org' || resource.kind === 'member') return resource.org.id;
  if (resource.kind === 'workspace' || resource.kind === 'mint' || resource.kind === 'cache')
    return resource.workspace.orgId;
  return undefined;
}

const workspaceIdOf = (resource: Resource): string | null =>
  resource.kind === 'workspace' || resource.kind === 'mint' || resource.kind === 'cache' ? resource.workspace.id : null;

/** Everyone, with or without a credential. */
const anyone: Rule = { who: 'anyone', open: true, check: async () => ALLOW };
const identityGate = (actor: Actor, channel: Channel): Decision | undefined => signedIn({ actor, channel });

const serverAdminOnly: Rule = {
  who: 'server admins',
  gate: identityGate,
  check: async (input) =>
    signedIn(input) ?? (isServerAdmin(input.actor) ? ALLOW : deny('only server administrators may do this')),
};

/** Any signed-in identity; the handler shows only what `visible*` below lets through. */
const anyIdentity: Rule = {
  who: 'any admin token, personal token or session (results filtered to what the caller may see)',
  gate: identityGate,
  check: async (input) => signedIn(input) ?? ALLOW,
};

function orgRule(who: string, test: (input: RuleInput, orgId: string) => Promise<boolean>, what: string): Rule {
  return {
    who,
    gate: identityGate,
    check: async (input) => {
      const gate = signedIn(input);
      if (gate) return gate;
      const orgId = orgIdOf(input.resource);
      if (orgId === undefined) return deny('this action needs an organisation or workspace', 'ERR_INTERNAL');
      // Org-level actions are outside any single workspace, so bound tokens never reach them.
      const bound = bindingAllows(input.actor, workspaceIdOf(input.resource));
      if (bound) return bound;
      return (await test(input, orgId)) ? ALLOW : deny(`only ${what} of organisation ${orgId} may do this`);
    },
  };
}

const orgAdmin = orgRule(
  'server admins; admins of the organisation (tokens bound to a workspace: only that workspace)',
  isOrgAdmin,
  'administrators',
);
const orgMember = orgRule(
  'server admins; members of the organisation (tokens bound to a workspace: only that workspace)',
  isOrgMember,
  'members',
);

/** Only the person themselves, with a session or an unbound personal token (never an admin token, never a bot). */
const selfOnly = (what: string): Rule => ({
  who: `only the user themselves (session or unbound personal token); ${what}`,
  gate: identityGate,
  check: async (input) => {
    const gate = signedIn(input);
    if (gate) return gate;
    const { actor, resource } = input;
    const targetUserId =
      resource.kind === 'user'
        ? resource.user.id
        : resource.kind === 'invitation'
          ? resource.invitation.userId
          : undefined;
    const bound = bindingAllows(actor, null);
    if (bound) return bound;
    const user = userOf(actor);
    if (actor.kind === 'admin-token' || user === undefined || user.bot || user.id !== targetUserId)
      return deny(`only the user themselves may do this (${what})`);
    return ALLOW;
  },
});

const accountRead: Rule = {
  who: 'server admins; the user themselves (unbound personal token or session)',
  gate: identityGate,
  check: async (input) => {
    const gate = signedIn(input);
    if (gate) return gate;
    if (isServerAdmin(input.actor)) return ALLOW;
    const bound = bindingAllows(input.actor, null);
    if (bound) return bound;
    const target = input.resource.kind === 'user' ? input.resource.user : undefined;
    return target !== undefined && userOf(input.actor)?.id === target.id
      ? ALLOW
      : deny('only server administrators may read other users');
  },
};

const sessionGate = (actor: Actor): Decision | undefined =>
  actor.kind === 'session' ? undefined : deny('sign in to see this page', 'ERR_WEB_SESSION_REQUIRED');

const sessionSelf: Rule = {
  who: 'any signed-in person (web session)',
  gate: sessionGate,
  check: async (input) =>
    input.actor.kind === 'session' ? ALLOW : deny('sign in to see this page', 'ERR_WEB_SESSION_REQUIRED'),
};

/** member.add: org admins invite (the user accepts); server admins add directly. Bots join only the one organisation that owns them. */
const memberAdd: Rule = {
  who: 'server admins (directly); admins of the organisation invite a person, who must accept; a bot only into the organisation that owns it',
  gate: identityGate,
  check: async (input) => {
    const gate = await orgAdmin.check(input);
    if (!gate.allowed || input.resource.kind !== 'member') return gate;
    const { org, user } = input.resource;
    if (user.bot) {
      if (user.ownerOrgId !== null && user.ownerOrgId !== org.id)
        return deny(`bot ${user.name} belongs to another organisation; bots belong to exactly one`);
      if (user.ownerOrgId === null && !isServerAdmin(input.actor))
        return deny(`bot ${user.name} belongs to no organisation yet; only a server administrator can place it`);
      return { allowed: true, directly: true };
    }
    return { allowed: true, directly: isServerAdmin(input.actor) };
  },
};

async function workspaceOrg(facts: PolicyFacts, workspaceId: string | null): Promise<string | null> {
  if (workspaceId === null) return null;
  return (await facts.workspace(workspaceId))?.orgId ?? null;
}

/** token.manage: who may see, rotate, change or revoke an existing token. */
async function checkTokenManage(
  input: RuleInput,
  token: Pick<TokenRecord, 'kind' | 'userId' | 'workspaceId'>,
): Promise<Decision> {
  const gate = signedIn(input);
  if (gate) return gate;
  const { actor, facts } = input;
  if (isServerAdmin(actor)) return ALLOW;
  if (token.kind === 'admin') return deny('only server administrators manage admin tokens');
  const bound = bindingAllows(actor, token.workspaceId);
  if (bound) return bound;
  const user = userOf(actor);
  if (actor.kind === 'admin-token' || user === undefined) return deny('you may not manage this token');
  if (token.kind === 'personal' && token.userId === user.id) return ALLOW;
  const tokenOrg = await workspaceOrg(facts, token.workspaceId);
  if (token.kind === 'ci') {
    return tokenOrg !== null && (await isOrgAdmin(input, tokenOrg))
      ? ALLOW
      : deny("only administrators of the workspace's organisation manage its CI tokens");
  }
  const owner = token.userId === null ? undefined : await facts.user(token.userId);
  if (owner === undefined) return deny('you may not manage this token');
  if (owner.bot) {
    const org = owner.ownerOrgId;
    if (org === null || (tokenOrg !== null && tokenOrg !== org))
      return deny(`bot ${owner.name} is not owned by an organisation you administer`);
    return (await isOrgAdmin(input, org))
      ? ALLOW
      : deny(`only administrators of the organisation that owns bot ${owner.name} manage its tokens`);
  }
  // Another person's token: only when it is bound inside an organisation where that person is a member and the caller an admin.
  if (tokenOrg === null)
    return deny(
      "another person's unbound token reaches other organisations; only they or a server administrator manage it",
    );
  if ((await facts.membership(tokenOrg, owner.id)) === undefined)
    return deny(`${owner.name} is not a member of the token's organisation`);
  return (await isOrgAdmin(input, tokenOrg))
    ? ALLOW
    : deny(`only administrators of organisation ${tokenOrg} manage its members' tokens`);
}

/** token.create: what kind of token for whom, bound where. */
async function checkTokenCreate(input: RuleInput, spec: NewTokenSpec): Promise<Decision> {
  const gate = signedIn(input);
  if (gate) return gate;
  const { actor, facts } = input;
  if (spec.kind === 'admin')
    return isServerAdmin(actor) ? ALLOW : deny('only server administrators create admin tokens');
  if (isServerAdmin(actor)) return ALLOW;
  // A bound token can only create tokens bound to its own workspace, never a wider one.
  if (actor.kind === 'personal' && actor.boundWorkspaceId !== null && spec.workspaceId !== actor.boundWorkspaceId) {
    return deny(`this token is bound to workspace ${actor.boundWorkspaceId}; it can only create tokens bound to it`);
  }
  const user = userOf(actor);
  if (actor.kind === 'admin-token' || user === undefined) return deny('you may not create this token');
  const wsOrg = await workspaceOrg(facts, spec.workspaceId);
  if (spec.kind === 'ci') {
    return wsOrg !== null && (await isOrgAdmin(input, wsOrg))
      ? ALLOW
      : deny("only administrators of the workspace's organisation create its CI tokens");
  }
  if (spec.userId === user.id) {
    if (user.bot)
      return deny('a bot cannot create tokens for itself; an administrator of its organisation issues them');
    if (spec.tier !== 'trusted') return ALLOW;
    if (wsOrg === null)
      return deny('you may not create a trusted personal token for a token bound to no workspace (server admins only)');
    return (await isOrgAdmin(input, wsOrg))
      ? ALLOW
      : deny(
          `you may not create a trusted personal token for workspace ${spec.workspaceId} (its organisation's admins only)`,
        );
  }
  const owner = spec.userId === null ? undefined : await facts.user(spec.userId);
  if (owner === undefined || !owner.bot || owner.ownerOrgId === null)
    return deny(
      'tokens for another person are created by that person (login); administrators issue tokens only for their bots',
    );
  if (wsOrg !== owner.ownerOrgId)
    return deny(`a token for bot ${owner.name} must be bound to a workspace of the organisation that owns it`);
  return (await isOrgAdmin(input, owner.ownerOrgId))
    ? ALLOW
    : deny(`only administrators of the organisation that owns bot ${owner.name} issue its tokens`);
}

/** token.mint: trusted read-write CI tokens, admins of the workspace's organisation, server admins. */
async function checkMint(input: RuleInput, workspace: Workspace, minterAccess: Access | undefined): Promise<Decision> {
  const { actor } = input;
  if (actor.kind === 'anonymous')
    return deny(
      'minting needs a trusted CI token or an admin token (NX_SEALED_CACHE_ACCESS_TOKEN)',
      'ERR_AUTH_TOKEN_MISSING',
    );
  if (actor.kind === 'session') return deny('minting is for tokens, not web sessions');
  if (actor.kind === 'admin-token') return ALLOW;
  if (actor.kind === 'ci') {
    const { token } = actor;
    if (token.scope !== null) return deny('a minted token cannot mint tokens');
    if (await input.facts.exchangedToken?.(token.id))
      return deny('a token from a CI identity exchange cannot mint tokens (its scope follows the job)');
    if (token.workspaceId !== workspace.id)
      return deny(
        `the token belongs to workspace ${token.workspaceId}, not to ${workspace.id}`,
        'ERR_AUTH_WORKSPACE_MISMATCH',
      );
    if (tierOfToken(token, workspace) !== 'trusted')
      return deny('only trusted CI tokens may mint (this one is isolated)');
    if (token.access !== 'read-write') return deny('only read-write CI tokens may mint (this one is read-only)');
    return ALLOW;
  }
  if (actor.boundWorkspaceId !== null && actor.boundWorkspaceId !== workspace.id) {
    return deny(
      `the token belongs to workspace ${actor.boundWorkspaceId}, not to ${workspace.id}`,
      'ERR_AUTH_WORKSPACE_MISMATCH',
    );
  }
  if (!(await isOrgAdmin(input, workspace.orgId)))
    return deny(`only trusted CI tokens and administrators of organisation ${workspace.orgId} may mint tokens`);
  if (minterAccess === undefined || !minterAccess.read)
    return deny('your own access to this workspace is none, so you cannot mint');
  return ALLOW;
}

function cacheRule(need: 'read' | 'write' | 'identify'): Rule {
  return {
    who:
      need === 'identify'
        ? 'anyone (the answer reports what the credential may do)'
        : `the workspace's ${need} access: CI token access, members by role and overrides, anonymous level`,
    check: async ({ resource }) => {
      if (resource.kind !== 'cache') return deny('a cache action needs a workspace', 'ERR_INTERNAL');
      const { access, workspace } = resource;
      if (need === 'identify') return ALLOW;
      if (!access.read)
        return deny(
          access.denyReason ?? 'this credential may not read this workspace',
          access.denyCode ?? 'ERR_AUTH_READ_DENIED',
        );
      if (need === 'write' && !access.write)
        return deny(`this credential may read but not write workspace ${workspace.id}`, 'ERR_CACHE_WRITE_DENIED');
      return ALLOW;
    },
  };
}

export const RULES: Record<Action, Rule> = {
  'server.probe': { ...anyone, who: 'anyone (`/metrics` also needs the metrics token, or a loopback caller)' },
  'web.public': anyone,
  'login.device': { ...anyone, who: 'anyone (the secret device code is the credential)' },
  'scim.provision': {
    ...anyone,
    who: "an identity provider (its SCIM bearer token, from the server's SSO config, is the credential)",
  },
  'session.self': sessionSelf,
  'account.read': accountRead,
  'account.set-password': selfOnly(
    'with the current password; server admins reset offline with `user set-password --data-dir`',
  ),
  'org.create': serverAdminOnly,
  'org.list': anyIdentity,
  'org.read': orgMember,
  'sign-in-policy.read': orgAdmin,
  // Claiming an email domain reaches people outside the organisation; only a server admin can check who owns it.
  'sign-in-policy.change': serverAdminOnly,
  'user.create': serverAdminOnly,
  'user.list': serverAdminOnly,
  'stats.read': serverAdminOnly,
  'retention.run': serverAdminOnly,
  'sso.recheck': serverAdminOnly,
  'backup.create': serverAdminOnly,
  'audit.read': {
    who: 'server admins (the whole server, or one organisation); admins of the organisation (its own log)',
    gate: identityGate,
    check: async (input) =>
      orgIdOf(input.resource) === undefined ? serverAdminOnly.check(input) : orgAdmin.check(input),
  },
  'member.list': orgAdmin,
  'member.add': memberAdd,
  'member.change': orgAdmin,
  'member.remove': orgAdmin,
  'invite.create': orgAdmin,
  'bot.create': orgAdmin,
  'invitation.list': anyIdentity,
  'invitation.answer': selfOnly('the invited user accepts or declines'),
  'workspace.create': orgAdmin,
  'workspace.list': anyIdentity,
  'workspace.read': orgMember,
  'workspace.change': orgAdmin,
  'entries.read': orgAdmin,
  'entries.change': orgAdmin,
  'token.list': anyIdentity,
  'token.create': {
    who: 'server admins; a person for themselves (trusted tier: admins of the bound workspace); org admins: CI tokens of their workspaces and tokens of bots their organisation owns, bound to its workspaces',
    gate: identityGate,
    check: async (input) =>
      input.resource.kind === 'new-token'
        ? checkTokenCreate(input, input.resource.spec)
        : deny('token.create needs a token spec', 'ERR_INTERNAL'),
  },
  'token.manage': {
    who: "server admins; the token's own user; org admins: CI tokens of their workspaces, tokens of bots their organisation owns, members' tokens bound to their workspaces (never admin tokens)",
    gate: identityGate,
    check: async (input) =>
      input.resource.kind === 'token'
        ? checkTokenManage(input, input.resource.token)
        : deny('token.manage needs a token', 'ERR_INTERNAL'),
  },
  'token.mint': {
    who: 'admin tokens; trusted read-write, unscoped CI tokens of the workspace; admins of its organisation with their own access (never minted tokens, never tokens from a CI identity exchange)',
    gate: (actor) =>
      actor.kind === 'anonymous'
        ? deny(
            'minting needs a trusted CI token or an admin token (NX_SEALED_CACHE_ACCESS_TOKEN)',
            'ERR_AUTH_TOKEN_MISSING',
          )
        : actor.kind === 'session'
          ? deny('minting is for tokens, not web sessions')
          : undefined,
    check: async (input) =>
      input.resource.kind === 'mint'
        ? checkMint(input, input.resource.workspace, input.resource.minterAccess)
        : deny('token.mint needs a workspace', 'ERR_INTERNAL'),
  },
  'trust-policy.manage': orgAdmin,
  'ci-identity.exchange': {
    ...anyone,
    who: "anyone (the CI job's signed identity token is the credential; the workspace's trust policies decide)",
  },
  'cache.read': cacheRule('read'),
  'cache.write': cacheRule('write'),
  'cache.identify': cacheRule('identify'),
  'runs.report': {
    who: "tokens with the workspace's read access (a read-only token reports too); never anonymous callers",
    gate: (actor) =>
      actor.kind === 'anonymous'
        ? deny('run reports need a token; anonymous callers cannot report runs', 'ERR_RUN_REPORT_ANONYMOUS')
        : undefined,
    check: async (input) => {
      if (input.actor.kind === 'anonymous')
        return deny('run reports need a token; anonymous callers cannot report runs', 'ERR_RUN_REPORT_ANONYMOUS');
      return cacheRule('read').check(input);
    },
  },
};

/** The part of the decision that needs no resource; undefined means "look the resource up and decide". */
export function gate(actor: Actor, action: Action, channel: Channel = 'api'): Decision | undefined {
  return RULES[action].gate?.(actor, channel);
}

export const isOpenAction = (action: Action): boolean => RULES[action].open === true;

export async function decide(
  actor: Actor,
  action: Action,
  resource: Resource,
  facts: PolicyFacts,
  channel: Channel = 'api',
): Promise<Decision> {
  return RULES[action].check({ actor, resource, facts, channel });
}

/** For list answers: whether the actor may see one item (the same rules, item by item). */
export async function allows(
  actor: Actor,
  action: Action,
  resource: Resource,
  facts: PolicyFacts,
  channel: Channel = 'api',
): Promise<boolean> {
  return (await decide(actor, action, resource, facts, channel)).allowed;
}
