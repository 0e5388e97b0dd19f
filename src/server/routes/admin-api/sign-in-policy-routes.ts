/** An organisation's web sign-in policy: required identity provider and email domains that may join (docs/sso.md). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SignInPolicyJson } from '../../../protocol';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import { DEFAULT_RECHECK_INTERVAL_S, type OrgSignInPolicy } from '../../sso/sso-store';
import { parseInput } from '../../input/request-input';
import type { WebRouteDeps } from '../web/web-routes';

const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a domain name such as example.com');

const PolicyBody = z.strictObject({
  requiredProvider: z.string().min(1).nullable(),
  joinDomains: z
    .array(z.strictObject({ domain: Domain, role: z.enum(['admin', 'member']) }))
    .max(50)
    .refine((list) => new Set(list.map((d) => d.domain)).size === list.length, 'each domain once'),
  /** `30m`, `12h`, `1d` … between 5 minutes and 30 days; null or absent: the default, 24 hours. */
  recheckInterval: z
    .string()
    .regex(/^[1-9]\d{0,5}[mhd]$/, 'like 30m, 12h or 1d')
    .transform((text) => Number(text.slice(0, -1)) * { m: 60, h: 3600, d: 86_400 }[text.slice(-1) as 'm' | 'h' | 'd'])
    .refine((s) => s >= 300 && s <= 30 * 86_400, 'between 5m and 30d')
    .nullable()
    .optional(),
});

const intervalText = (seconds: number): string =>
  seconds % 86_400 === 0 ? `${seconds / 86_400}d` : seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds / 60}m`;

const present = (org: string, { recheckIntervalSeconds, ...policy }: OrgSignInPolicy): SignInPolicyJson => ({
  org,
  ...policy,
  recheckInterval: intervalText(recheckIntervalSeconds ?? DEFAULT_RECHECK_INTERVAL_S),
});

export async function signInPolicyRoutes(app: FastifyInstance, { ctx, web }: WebRouteDeps): Promise<void> {
  app.get('/orgs/:org/sign-in-policy', permit('sign-in-policy.read', 'org-param'), async (request) => {
    const { org } = resourceOf(request, 'org');
    return present(org.name, await web.sso.policyOf(org.id));
  });

  // Every identity with a refresh token is asked now, whatever the interval (after an incident, or in tests);
  // a lapsed sign-in is still judged by the interval.
  app.post('/sso/recheck', permit('sso.recheck'), async () => ({
    // The retention pass's lock: one sweeper at a time over the replicas (null: another one is at it).
    recheck: (await ctx.store.runExclusive('retention', () => web.ssoRecheck.run({ now: true }))) ?? null,
  }));

  app.put('/orgs/:org/sign-in-policy', permit('sign-in-policy.change', 'org-param'), async (request) => {
    const { org } = resourceOf(request, 'org');
    const body = parseInput(PolicyBody, request.body, 'sign-in policy');
    const { recheckInterval, ...rest } = body;
    const policy = { ...rest, recheckIntervalSeconds: recheckInterval ?? null };
    return present(org.name, await web.sso.setPolicy(org.id, policy, auditActorOf(authorizedOf(request).actor)));
  });
}
