/**
 * `POST /v1/runs` (also under /w/:workspaceId): a run report from the plugin or the runner, authorized like a
 * cache read of that workspace. Reports are append-only under an id the server picks, so no credential can
 * overwrite another's; a workspace with reports off answers 200 `stored: false` and keeps nothing.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../../errors';
import { RUN_REPORT_MAX_BYTES, RUN_REPORT_MAX_TASKS, RunReport, type RunReportAnswer } from '../../../protocol';
import { workspaceAccessOf } from '../../auth/route-auth';
import { permit } from '../../auth/route-policy';
import { errorBody, statusOf, toSealedCacheError } from '../../http-errors';
import { randomBase62 } from '../../ids';
import type { LimitCounter } from '../../limits/shared-window-counter';
import type { ServerContext } from '../../server-context';
import { placementOf, tierOfToken } from '../../tiers/write-tier';

/** Reports per credential per minute: a few CI jobs a minute each send one; a loop sending thousands is refused. */
export const RUN_REPORTS_PER_MINUTE = 60;

/** Fastify's body errors as the route's own codes; the rest as everywhere else. */
function reportErrorOf(error: unknown): SealedCacheError {
  const code = (error as { code?: unknown }).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new SealedCacheError('ERR_RUN_REPORT_TOO_LARGE', `a run report is at most ${RUN_REPORT_MAX_BYTES} bytes`);
  if (typeof code === 'string' && code.startsWith('FST_ERR_CTP_'))
    return new SealedCacheError('ERR_RUN_REPORT_INVALID', 'a run report is a JSON object (application/json)');
  return toSealedCacheError(error);
}

function parseReport(body: unknown): RunReport {
  const tasks = (body as { tasks?: unknown } | null)?.tasks;
  if (Array.isArray(tasks) && tasks.length > RUN_REPORT_MAX_TASKS)
    throw new SealedCacheError(
      'ERR_RUN_REPORT_TOO_LARGE',
      `a run report lists at most ${RUN_REPORT_MAX_TASKS} tasks (this one lists ${tasks.length}); nothing was stored`,
    );
  const parsed = RunReport.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join('.') : 'the report';
    throw new SealedCacheError('ERR_RUN_REPORT_INVALID', `${where}: ${issue.message}; nothing was stored`);
  }
  return parsed.data;
}

/**
 * Who ran it, by name: the person or bot of a personal token, else the CI token's name; an unnamed CI token by
 * what tells it apart on the token list, its access and (when it writes) its tier.
 */
function reporterOf(request: FastifyRequest): string {
  const { principal, workspace } = workspaceAccessOf(request);
  if (principal.kind === 'anonymous') return 'anonymous';
  if (principal.user !== undefined) return principal.user.name;
  const { token } = principal;
  if (token.name !== null) return `CI token “${token.name}”`;
  return token.access === 'read-write'
    ? `unnamed CI token (read-write, ${tierOfToken(token, workspace)})`
    : 'unnamed CI token (read)';
}

async function recordReport(
  ctx: ServerContext,
  limiter: LimitCounter,
  request: FastifyRequest,
): Promise<RunReportAnswer> {
  const { principal, workspace, access } = workspaceAccessOf(request);
  const token = principal.kind === 'token' ? principal.token : undefined;
  if (!(await limiter.tryAdd(token?.id ?? request.ip, 1, RUN_REPORTS_PER_MINUTE)))
    throw new SealedCacheError(
      'ERR_RUN_REPORT_RATE_LIMITED',
      `at most ${RUN_REPORTS_PER_MINUTE} run reports per minute per credential; nothing was stored`,
    );
  const report = parseReport(request.body);
  if (!(await ctx.store.runs.reportsEnabled(workspace.id)))
    return { stored: false, id: null, reason: `workspace ${workspace.name} takes no run reports` };
  const placement = placementOf(principal, workspace, access);
  const stored = await ctx.store.runs.record(
    {
      id: `run_${randomBase62(20)}`,
      workspaceId: workspace.id,
      reportedAt: ctx.clock().toISOString(),
      startedAt: report.startedAt,
      endedAt: report.endedAt,
      client: report.client,
      nxVersion: report.nxVersion,
      principalKind: token?.kind ?? 'anonymous',
      tokenId: token?.id ?? null,
      userId: token?.userId ?? null,
      reporter: reporterOf(request),
      namespace: placement.writeNamespace,
      readNamespaces: placement.readNamespaces,
    },
    report.tasks,
  );
  return { stored: true, id: stored.id };
}

export async function runReportRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  // Per credential, counted by every replica together (one process's memory on the embedded store).
  const limiter = ctx.ops.limits.counter('run-reports', 60_000);
  app.setErrorHandler((error, request, reply) => {
    const err = reportErrorOf(error);
    const status = statusOf(err);
    if (status >= 500) request.log.error({ err: error }, 'run report failed');
    return reply.code(status).send(errorBody(err));
  });
  for (const prefix of ['', '/w/:workspaceId']) {
    app.post(
      `${prefix}/v1/runs`,
      { ...permit('runs.report', 'cache'), bodyLimit: RUN_REPORT_MAX_BYTES },
      async (request, reply) => {
        const answer = await recordReport(ctx, limiter, request);
        return reply.code(answer.stored ? 201 : 200).send(answer);
      },
    );
  }
}
