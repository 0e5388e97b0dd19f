/** Stops accepting, lets in-flight requests finish for a bounded time, then cuts the rest (an upload cut so stores nothing). */
import type { FastifyInstance } from 'fastify';

export async function closeGracefully(app: FastifyInstance, graceMs: number): Promise<void> {
  const closing = app.close();
  // Connections kept alive after their last response would otherwise hold close() open.
  app.server.closeIdleConnections();
  const idleSweep = setInterval(() => app.server.closeIdleConnections(), 100);
  const deadline = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await closing;
  } finally {
    clearInterval(idleSweep);
    clearTimeout(deadline);
  }
}
