/**
 * Who is asking: every credential the server accepts, as one closed set. Server-admin rights come only
 * from an admin token (which only a server admin or `admin init` creates) or from a web session of a user
 * a server admin flagged; never from a user name, a personal token or a minted token.
 */
import type { TokenRecord, User } from '../metadata/records';
import type { Principal } from './credentials';

export type Actor =
  | { kind: 'anonymous' }
  /** An admin token: the server administrator on the admin API. */
  | { kind: 'admin-token'; token: TokenRecord; user: User | undefined }
  /** A personal token of a person or a bot; `boundWorkspaceId` walls it into one workspace everywhere. */
  | { kind: 'personal'; token: TokenRecord; user: User; boundWorkspaceId: string | null }
  /** A CI token of one workspace; minted tokens are CI tokens with a scope. */
  | { kind: 'ci'; token: TokenRecord }
  /** A signed-in person on the web page. */
  | { kind: 'session'; user: User };

export type ActorKind = Actor['kind'];

export function actorFromPrincipal(principal: Principal): Actor {
  if (principal.kind === 'anonymous') return { kind: 'anonymous' };
  const { token, user } = principal;
  if (token.kind === 'admin') return { kind: 'admin-token', token, user };
  if (token.kind === 'ci') return { kind: 'ci', token };
  // A personal token whose user is gone can do nothing a user could.
  if (user === undefined) return { kind: 'anonymous' };
  return { kind: 'personal', token, user, boundWorkspaceId: token.workspaceId };
}

/** Bots never hold sessions (they have no password); the web guard refuses them before this. */
export const actorFromSession = (user: User): Actor => ({ kind: 'session', user });

export function isServerAdmin(actor: Actor): boolean {
  return actor.kind === 'admin-token' || (actor.kind === 'session' && actor.user.serverAdmin && !actor.user.bot);
}

/** The person or bot behind the actor, if any (admin tokens may have one, for the audit log). */
export function userOf(actor: Actor): User | undefined {
  return actor.kind === 'personal' || actor.kind === 'session' || actor.kind === 'admin-token' ? actor.user : undefined;
}

export function tokenOf(actor: Actor): TokenRecord | undefined {
  return actor.kind === 'admin-token' || actor.kind === 'personal' || actor.kind === 'ci' ? actor.token : undefined;
}

/** What the audit log records as the actor. */
export const auditActorOf = (actor: Actor): { tokenId: string | null; userId: string | null } => ({
  tokenId: tokenOf(actor)?.id ?? null,
  userId: userOf(actor)?.id ?? null,
});

/** A personal token bound to a workspace: the only workspace it may ever act in. */
export const boundWorkspaceOf = (actor: Actor): string | null =>
  actor.kind === 'personal' ? actor.boundWorkspaceId : actor.kind === 'ci' ? actor.token.workspaceId : null;
