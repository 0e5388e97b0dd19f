/**
 * How access and write tiers are said to people, in one place, so the approval page, `whoami`, `login`,
 * `doctor`, `token list` and the web page's token tables all say the same thing.
 */
export type TierShown = 'trusted' | 'isolated' | 'workspace policy';

/** One line each on what a tier means, for every form that asks for one. */
export const TIER_MEANING: Record<TierShown, string> = {
  trusted: 'writes the shared cache that every build of the workspace reads (main-branch CI)',
  isolated: 'writes a cache of its own that only this writer reads back (pull requests, laptops)',
  'workspace policy': "follows the workspace's setting for members' personal tokens",
};

/** `read-write`, `read` or `none`: the same words the token forms and tables use. */
export function accessLabel(access: { read: boolean; write: boolean }): 'read-write' | 'read' | 'none' {
  return access.write ? 'read-write' : access.read ? 'read' : 'none';
}

/** `isolated (writes only a namespace of its own, …)`. */
export const tierWithMeaning = (tier: TierShown): string => `${tier} (${TIER_MEANING[tier]})`;
