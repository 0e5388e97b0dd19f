/** A workspace's settings for organisation admins: anonymous and member-default access, CI tokens, CI identity. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isSealedCacheError, SealedCacheError } from '../../../errors';
import { AccessLevel, WORKSPACE_ID_PATTERN } from '../../../protocol';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, pagePermit, resourceOf } from '../../auth/route-policy';
import { issuerControl } from '../../ci-identity/issuer-allowlist';
import { addTrustPolicy, removeTrustPolicy } from '../../ci-identity/policy-admin';
import { statusOf } from '../../http-errors';
import type { Workspace } from '../../metadata/records';
import { tokenTable } from '../../web/pages/token-pages';
import {
  TRUST_POLICY_FORM_FIELDS,
  trustPolicySection,
  type TrustPolicyFormValues,
  type TrustPolicyRow,
} from '../../web/pages/trust-policy-section';
import { workspacePage, type WorkspaceMemberRow } from '../../web/pages/workspace-page';
import { changeMember } from '../../services/member-access';
import { formField, requireViewer } from '../../web/web-guards';
import { noticeFromQuery, withDone } from '../../web/web-notices';
import { parseInput } from '../../input/request-input';
import { requireOrganisation, requireUser } from '../../services/lookups';
import type { WebRouteDeps } from './web-routes';
import { requireFreshForm, sendCreated, serverUrlOf, tokenRows } from './web-tokens';

const AccessForm = z.object({ anonymousAccess: AccessLevel, memberDefaultAccess: z.enum(['read', 'read-write']) });
const CiTokenForm = z.object({ name: z.string().trim().min(1).max(100), access: z.enum(['read', 'read-write']) });
const Params = z.object({ id: z.string().regex(WORKSPACE_ID_PATTERN, 'a workspace id') });
const MemberParams = Params.extend({ user: z.string().regex(/^usr_[A-Za-z0-9]+$/, 'a user id') });
const MemberAccess = z.union([AccessLevel, z.literal('default')]);
const EMPTY_POLICY_FORM: TrustPolicyFormValues = {
  name: '',
  provider: 'github',
  issuer: '',
  audience: '',
  rules: '',
  jwksUrl: '',
  jwks: '',
  tokenLifetime: '',
};

const policyFormValues = (request: FastifyRequest): TrustPolicyFormValues => {
  const values = { ...EMPTY_POLICY_FORM };
  for (const name of TRUST_POLICY_FORM_FIELDS) values[name] = formField(request, name) ?? '';
  return values;
};

/** A JSON field of the form; what it holds is then checked by the API's schema. */
function jsonField(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SealedCacheError('ERR_INPUT_INVALID', `${what} are not JSON: ${(cause as Error).message}`, { cause });
  }
}

/** The form as the API's POST body: empty optional fields left out, the JSON fields parsed. */
function policyBodyOf(values: TrustPolicyFormValues): Record<string, unknown> {
  const optional = (text: string): string | undefined => (text.trim() === '' ? undefined : text.trim());
  return {
    name: values.name.trim(),
    provider: values.provider,
    issuer: optional(values.issuer),
    audience: values.audience.trim(),
    jwksUrl: optional(values.jwksUrl),
    jwks: optional(values.jwks) === undefined ? undefined : jsonField(values.jwks, "the issuer's keys"),
    rules: jsonField(values.rules, 'the rules'),
    tokenLifetime: optional(values.tokenLifetime),
  };
}

export async function webWorkspaceRoutes(app: FastifyInstance, deps: WebRouteDeps): Promise<void> {
  const { ctx, web } = deps;
  const workspaceOf = (request: FastifyRequest): Workspace => resourceOf(request, 'workspace').workspace;
  const requireWorkspaceOfToken = async (id: string | null): Promise<Workspace> => {
    const ws = id === null ? undefined : await ctx.store.findWorkspace(id);
    if (ws === undefined) throw new SealedCacheError('ERR_WORKSPACE_NOT_FOUND', 'no such workspace');
    return ws;
  };
  const pageUrl = (ws: Workspace) => `/ui/workspaces/${ws.id}`;
  const issuers = issuerControl(ctx.config);

  /** The page, with the add-policy form as typed and its refusal when an add was refused. */
  const sendPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    refused?: { values: TrustPolicyFormValues; error: SealedCacheError },
  ): Promise<FastifyReply> => {
    const viewer = requireViewer(request);
    const ws = workspaceOf(request);
    const org = await requireOrganisation(ctx.store, ws.orgId);
    const nonce = web.formOnce.issue();
    const ci = (await ctx.store.listTokens({ workspaceId: ws.id })).filter((t) => t.kind === 'ci');
    const table = tokenTable(await tokenRows(deps, ci), {
      viewer,
      nonce,
      back: pageUrl(ws),
      caption: 'CI access tokens of this workspace',
      now: ctx.clock(),
    });
    const users = new Map((await ctx.store.listUsers()).map((u) => [u.id, u]));
    const overrides = (await ctx.store.listWorkspaceOverrides(org.id)).filter((o) => o.workspaceId === ws.id);
    const members: WorkspaceMemberRow[] = (await ctx.store.listMemberships(org.id)).map((m) => ({
      userId: m.userId,
      name: users.get(m.userId)?.name ?? m.userId,
      bot: users.get(m.userId)?.bot ?? false,
      role: m.role,
      override: overrides.find((o) => o.userId === m.userId)?.access,
    }));
    const rows: TrustPolicyRow[] = [];
    for (const policy of await ctx.store.ciIdentity.listPolicies(ws.id)) {
      const user = policy.createdByUserId === null ? undefined : users.get(policy.createdByUserId);
      const token = policy.createdByTokenId === null ? undefined : await ctx.store.findToken(policy.createdByTokenId);
      rows.push({ policy, createdBy: user?.name ?? (token && `token “${token.name ?? token.id}”`) ?? null });
    }
    const ciIdentity = trustPolicySection(viewer, ws, {
      rows,
      canManage: await authorizedOf(request).may('trust-policy.manage', { kind: 'workspace', workspace: ws }),
      form: refused?.values ?? { ...EMPTY_POLICY_FORM, audience: serverUrlOf(request) },
      error: refused && { code: refused.error.code, message: refused.error.message },
    });
    return reply
      .code(refused === undefined ? 200 : statusOf(refused.error))
      .type('text/html; charset=utf-8')
      .send(workspacePage(viewer, org, ws, table, nonce, noticeFromQuery(request.query), members, ciIdentity));
  };

  app.get('/ui/workspaces/:id', pagePermit('workspace.change', 'workspace-param'), async (request, reply) =>
    sendPage(request, reply),
  );

  app.post('/ui/workspaces/:id/access', pagePermit('workspace.change', 'workspace-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const ws = workspaceOf(request);
    const form = parseInput(AccessForm, request.body, 'access levels');
    await ctx.store.updateWorkspaceAccess(ws.id, form);
    await ctx.audit.record({
      action: 'workspace.access-changed',
      actor: { tokenId: null, userId: viewer.user.id },
      orgId: ws.orgId,
      workspaceId: ws.id,
      targetId: ws.id,
      details: {
        before: { anonymousAccess: ws.anonymousAccess, memberDefaultAccess: ws.memberDefaultAccess },
        after: form,
        via: 'web',
      },
    });
    return reply.redirect(withDone(pageUrl(ws), 'access-saved'), 303);
  });

  app.post(
    '/ui/workspaces/:id/members/:user/access',
    pagePermit('member.change', 'workspace-param'),
    async (request, reply) => {
      const viewer = requireViewer(request);
      const params = parseInput(MemberParams, request.params, 'path');
      const ws = workspaceOf(request);
      const access = parseInput(MemberAccess, formField(request, 'access'), 'access');
      const org = await requireOrganisation(ctx.store, ws.orgId);
      const user = await requireUser(ctx.store, params.user);
      await changeMember(
        ctx,
        org,
        user,
        { workspace: ws.id, access },
        { tokenId: null, userId: viewer.user.id },
        'web',
      );
      return reply.redirect(withDone(pageUrl(ws), 'member-access-saved'), 303);
    },
  );

  app.post('/ui/workspaces/:id/ci-tokens', pagePermit('token.create', 'web-ci-token'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { spec } = resourceOf(request, 'new-token');
    const ws = await requireWorkspaceOfToken(spec.workspaceId);
    const form = parseInput(
      CiTokenForm,
      { name: formField(request, 'name'), access: formField(request, 'access') },
      'CI token',
    );
    await requireFreshForm(deps, viewer, request);
    const issued = await ctx.tokens.issue(
      {
        kind: 'ci',
        name: form.name,
        workspaceId: ws.id,
        userId: null,
        access: form.access,
        expiresIn: 'never',
        tier: spec.tier ?? 'isolated',
      },
      { tokenId: null, userId: viewer.user.id },
      ws.orgId,
    );
    return sendCreated(reply, request, viewer, issued, ws, false, pageUrl(ws));
  });

  // Same action and checks as the API's POST /workspaces/:id/trust-policies; a refusal redraws the page with the input.
  app.post(
    '/ui/workspaces/:id/trust-policies',
    pagePermit('trust-policy.manage', 'workspace-param'),
    async (request, reply) => {
      const ws = workspaceOf(request);
      const values = policyFormValues(request);
      try {
        const actor = auditActorOf(authorizedOf(request).actor);
        await addTrustPolicy(ctx, issuers, ws, policyBodyOf(values), actor, 'web');
      } catch (error) {
        if (!isSealedCacheError(error) || statusOf(error) >= 500) throw error;
        // The redrawn page is the workspace page: only for those who may open it.
        if (!(await authorizedOf(request).may('workspace.change', { kind: 'workspace', workspace: ws }))) throw error;
        return sendPage(request, reply, { values, error });
      }
      return reply.redirect(`${withDone(pageUrl(ws), 'trust-policy-added')}#ci-identity`, 303);
    },
  );

  app.post(
    '/ui/workspaces/:id/trust-policies/:policy/delete',
    pagePermit('trust-policy.manage', 'workspace-param'),
    async (request, reply) => {
      const ws = workspaceOf(request);
      const actor = auditActorOf(authorizedOf(request).actor);
      await removeTrustPolicy(ctx, ws, (request.params as { policy?: string }).policy, actor, 'web');
      return reply.redirect(`${withDone(pageUrl(ws), 'trust-policy-deleted')}#ci-identity`, 303);
    },
  );
}
