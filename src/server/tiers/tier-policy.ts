/** A workspace's tier settings: the personal-token tier and how long isolated entries live. */
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import type { Workspace } from '../metadata/records';
import { WriteTierSchema } from './write-tier';

export const DEFAULT_ISOLATED_RETENTION = '7d';
const RETENTION_PATTERN = /^([1-9]\d{0,4})(h|d|w)$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

export const IsolatedRetention = z.string().regex(RETENTION_PATTERN, 'like 12h, 7d or 2w');

/** The fields `PATCH /workspaces/:id` accepts for tiers. */
export const TierPolicyPatch = z.object({
  personalTokenTier: WriteTierSchema.optional(),
  isolatedRetention: IsolatedRetention.optional(),
});
export type TierPolicyPatch = z.infer<typeof TierPolicyPatch>;

export function retentionMs(retention: string): number {
  const match = RETENTION_PATTERN.exec(retention);
  if (!match)
    throw new SealedCacheError('ERR_CONFIG_INVALID', `isolated retention "${retention}" is not like 12h, 7d or 2w`);
  return Number(match[1]) * UNIT_MS[match[2]];
}

/** The audit detail of a settings change, empty when the tier settings did not change. */
export function tierPolicyChange(before: Workspace, after: Workspace): Record<string, unknown> {
  if (before.personalTokenTier === after.personalTokenTier && before.isolatedRetention === after.isolatedRetention)
    return {};
  const pick = (ws: Workspace) => ({
    personalTokenTier: ws.personalTokenTier,
    isolatedRetention: ws.isolatedRetention,
  });
  return { tierPolicy: { before: pick(before), after: pick(after) } };
}
