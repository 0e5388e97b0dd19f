/** An organisation's web sign-in policy: required identity provider and email domains that may join (docs/sso.md). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SignInPolicyJson } from '../../../protocol';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import type { OrgSignInPolicy } from '../../sso/sso-store';
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
});

const present = (org: string, policy: OrgSignInPolicy): SignInPolicyJson => ({ org, ...policy });

export async function signInPolicyRoutes(app: FastifyInstance, { web }: WebRouteDeps): Promise<void> {
  app.get('/orgs/:org/sign-in-policy', permit('sign-in-policy.read', 'org-param'), async (request) => {
    const { org } = resourceOf(request, 'org');
    return present(org.name, await web.sso.policyOf(org.id));
  });

  app.put('/orgs/:org/sign-in-policy', permit('sign-in-policy.change', 'org-param'), async (request) => {
    const { org } = resourceOf(request, 'org');
    const body = parseInput(PolicyBody, request.body, 'sign-in policy');
    return present(org.name, await web.sso.setPolicy(org.id, body, auditActorOf(authorizedOf(request).actor)));
  });
}
