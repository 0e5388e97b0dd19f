/**
 * `POST /api/v1/tokens/mint`: a trusted read-write CI token (or an admin) mints a short-lived,
 * isolated CI token for one scope, e.g. one pull request. Minted tokens cannot mint, so a scope
 * can never widen itself; their access never exceeds the minter's.
 */
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { type Actor, auditActorOf } from '../auth/actors';
import type { Resource } from '../auth/policy';
import type { TokenAccess } from '../metadata/records';
import type { ServerContext } from '../server-context';
import { type IssuedToken, expiryFrom } from '../services/token-service';
import { SCOPE_PATTERN } from './write-tier';

export const DEFAULT_MINT_EXPIRY = '2h';
const MAX_MINT_LIFETIME_MS = 7 * 86_400_000;

export const MintBody = z.strictObject({
  scope: z.string().regex(SCOPE_PATTERN, '1-100 of A-Z a-z 0-9 . _ / -'),
  workspaceId: z.string().optional(),
  access: z.enum(['read', 'read-write']).optional(),
  expiresIn: z
    .string()
    .regex(/^[1-9]\d{0,5}[mhd]$/, 'like 30m, 2h or 3d (at most 7d)')
    .optional(),
  name: z.string().trim().min(1).max(100).optional(),
});
export type MintBody = z.infer<typeof MintBody>;

/** The most a minted token may get: the personal minter's own access, else read-write (the policy allowed the minter). */
function capOf(actor: Actor, target: Resource & { kind: 'mint' }): TokenAccess {
  return actor.kind === 'personal' && target.minterAccess !== undefined && !target.minterAccess.write
    ? 'read'
    : 'read-write';
}

function mintedExpiry(expiresIn: string, now: Date): string {
  const expiresAt = expiryFrom(expiresIn, now) as string;
  if (Date.parse(expiresAt) - now.getTime() > MAX_MINT_LIFETIME_MS) {
    throw new SealedCacheError('ERR_INPUT_INVALID', `minted tokens live at most 7d (asked for ${expiresIn})`);
  }
  return expiresIn;
}

export async function mintToken(
  ctx: ServerContext,
  actor: Actor,
  target: Resource & { kind: 'mint' },
  body: MintBody,
): Promise<IssuedToken> {
  const cap = capOf(actor, target);
  const access = body.access ?? cap;
  if (access === 'read-write' && cap === 'read')
    throw new SealedCacheError('ERR_AUTH_FORBIDDEN', "a minted token's access cannot exceed the minter's (read)");
  const expiresIn = mintedExpiry(body.expiresIn ?? DEFAULT_MINT_EXPIRY, ctx.clock());
  const { workspace } = target;
  const spec = {
    kind: 'ci' as const,
    name: body.name ?? `minted for ${body.scope}`,
    workspaceId: workspace.id,
    userId: null,
    access,
    expiresIn,
    tier: 'isolated' as const,
    scope: body.scope,
  };
  return ctx.tokens.issue(spec, auditActorOf(actor), workspace.orgId);
}
