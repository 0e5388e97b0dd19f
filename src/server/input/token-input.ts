/** The body of `POST /api/v1/tokens`, read by the authorization layer (kind, owner, binding) and the handler (the rest). */
import { z } from 'zod';
import { TokenKind } from '../../protocol';
import { WriteTierSchema } from '../tiers/write-tier';
import { IdOrName } from './request-input';

export const TokenAccessSchema = z.enum(['read', 'read-write']);
const ExpiresIn = z.string().regex(/^(never|[1-9]\d{0,5}[mhdwy])$/, 'like 30m, 2h, 30d, 4w, 1y or never');

export const CreateTokenBody = z.strictObject({
  kind: TokenKind,
  workspaceId: z.string().optional(),
  user: IdOrName.optional(),
  access: TokenAccessSchema.optional(),
  name: z.string().trim().min(1).max(100).optional(),
  expiresIn: ExpiresIn.optional(),
  tier: WriteTierSchema.optional(),
});
export type CreateTokenBody = z.infer<typeof CreateTokenBody>;
