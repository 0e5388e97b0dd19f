/** Hooks and routes of operations, registered before every other route so their hooks cover them all. */
import type { FastifyInstance } from 'fastify';
import { registerBodyRate } from '../limits/body-rate';
import { registerConnectionLimits } from '../limits/connection-limits';
import { registerRequestLimits } from '../limits/request-limits';
import { registerRequestMetrics } from '../observability/request-metrics';
import { registerRequestNotes } from '../observability/request-notes';
import { healthRoutes } from '../routes/ops/health';
import { metricsRoutes } from '../routes/ops/metrics';
import type { ServerContext } from '../server-context';

export function registerOperations(app: FastifyInstance, context: ServerContext): void {
  const { ops } = context;
  registerRequestNotes(app);
  registerRequestMetrics(app, ops.metrics);
  registerRequestLimits(app, ops.limits);
  registerBodyRate(app, context.config, ops.metrics);
  registerConnectionLimits(app.server, context.config, ops.metrics, app.log);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.register(async (scope) =>
    healthRoutes(scope, { store: context.store, probeStorage: ops.probeStorage, version: context.version }),
  );
  app.register(async (scope) =>
    metricsRoutes(scope, { metrics: ops.metrics, metricsToken: context.config.metricsToken }),
  );
}
