/**
 * `POST /api/v1/tokens/mint`: a trusted read-write CI token (or an admin) mints a short-lived,
 * isolated CI token for one scope, e.g. one pull request. Minted tokens cannot mint, so a scope
 * can never widen itself; their access never exceeds the minter's.
 */
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { type AdminCaller, isOrgAdmin } from '../auth/admin-caller';
import type { Principal } from '../auth/credentials';
import { resolveWorkspaceAccess } from '../auth/workspace-access';
import type { TokenAccess, TokenRecord, Workspace } from '../metadata/records';
import { requireWorkspace } from '../routes/admin-lookups';
import type { ServerContext } from '../server-context';
import { type IssuedToken, expiryFrom } from '../services/token-service';
import { SCOPE_PATTERN, tierOfToken } from './write-tier';

export const DEFAULT_MINT_EXPIRY = '2h';
const MAX_MINT_LIFETIME_MS = 7 * 86_400_000;

export const MintBody = z.strictObject({
  scope: z.string().regex(SCOPE_PATTERN, '1-100 of A-Z a-z 0-9 . _ / -'),
  workspaceId: z.string().optional(),
  access: z.enum(['read', 'read-write']).optional(),
  expiresIn: z.string().regex(/^[1-9]\d{0,5}[mhd]$/, 'like 30m, 2h or 3d (at most 7d)').optional(),
  name: z.string().trim().min(1).max(100).optional(),
});
export type MintBody = z.infer<typeof MintBody>;

interface Minter {
  token: TokenRecord;
  workspace: Workspace;
  /** The most a minted token may get. */
  cap: TokenAccess;
}

const forbidden = (why: string) => new SealedCacheError('ERR_AUTH_FORBIDDEN', why);

function workspaceIdFor(token: TokenRecord, requested: string | undefined): string {
  if (token.workspaceId !== null && requested !== undefined && requested !== token.workspaceId) {
    throw new SealedCacheError('ERR_AUTH_WORKSPACE_MISMATCH', `the token belongs to workspace ${token.workspaceId}, not to ${requested}`);
  }
  const id = token.workspaceId ?? requested;
  if (id === undefined) throw new SealedCacheError('ERR_INPUT_INVALID', 'which workspace? Pass --workspace');
  return id;
}

async function ciMinter(ctx: ServerContext, token: TokenRecord, requested: string | undefined): Promise<Minter> {
  if (token.scope !== null) throw forbidden('a minted token cannot mint tokens');
  const workspace = await requireWorkspace(ctx.store, workspaceIdFor(token, requested));
  if (tierOfToken(token, workspace) !== 'trusted') throw forbidden('only trusted CI tokens may mint (this one is isolated)');
  if (token.access !== 'read-write') throw forbidden('only read-write CI tokens may mint (this one is read-only)');
  return { token, workspace, cap: 'read-write' };
}

async function personalMinter(ctx: ServerContext, principal: Principal & { kind: 'token' }, requested: string | undefined): Promise<Minter> {
  const workspace = await requireWorkspace(ctx.store, workspaceIdFor(principal.token, requested));
  const caller: AdminCaller = { token: principal.token, user: principal.user, serverAdmin: false };
  if (!(await isOrgAdmin(ctx.store, caller, workspace.orgId))) {
    throw forbidden(`only trusted CI tokens and administrators of organisation ${workspace.orgId} may mint tokens`);
  }
  const { access } = await resolveWorkspaceAccess(ctx.store, principal, workspace.id);
  if (!access.read) throw forbidden('your own access to this workspace is none, so you cannot mint');
  return { token: principal.token, workspace, cap: access.write ? 'read-write' : 'read' };
}

async function minterOf(ctx: ServerContext, principal: Principal, requested: string | undefined): Promise<Minter> {
  if (principal.kind === 'anonymous') throw new SealedCacheError('ERR_AUTH_TOKEN_MISSING', 'minting needs a trusted CI token or an admin token (NX_SEALED_CACHE_ACCESS_TOKEN)');
  const { token } = principal;
  if (token.kind === 'ci') return ciMinter(ctx, token, requested);
  if (token.kind === 'personal') return personalMinter(ctx, principal, requested);
  if (requested === undefined) throw new SealedCacheError('ERR_INPUT_INVALID', 'which workspace? Pass --workspace');
  return { token, workspace: await requireWorkspace(ctx.store, requested), cap: 'read-write' };
}

function mintedExpiry(expiresIn: string, now: Date): string {
  const expiresAt = expiryFrom(expiresIn, now) as string;
  if (Date.parse(expiresAt) - now.getTime() > MAX_MINT_LIFETIME_MS) {
    throw new SealedCacheError('ERR_INPUT_INVALID', `minted tokens live at most 7d (asked for ${expiresIn})`);
  }
  return expiresIn;
}

export async function mintToken(ctx: ServerContext, principal: Principal, body: MintBody): Promise<IssuedToken> {
  const minter = await minterOf(ctx, principal, body.workspaceId);
  const access = body.access ?? minter.cap;
  if (access === 'read-write' && minter.cap === 'read') throw forbidden("a minted token's access cannot exceed the minter's (read)");
  const expiresIn = mintedExpiry(body.expiresIn ?? DEFAULT_MINT_EXPIRY, ctx.clock());
  const actor = { tokenId: minter.token.id, userId: principal.kind === 'token' ? (principal.user?.id ?? null) : null };
  const spec = { kind: 'ci' as const, name: body.name ?? `minted for ${body.scope}`, workspaceId: minter.workspace.id, userId: null, access, expiresIn, tier: 'isolated' as const, scope: body.scope };
  return ctx.tokens.issue(spec, actor, minter.workspace.orgId);
}
