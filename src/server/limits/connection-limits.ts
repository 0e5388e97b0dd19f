/**
 * Caps on open connections, in all and per client address, so idle or trickling clients cannot take
 * every socket the process has. Counted on the TCP peer: behind a reverse proxy every connection comes
 * from the proxy, so set the per-address cap there (or to 0) and let the proxy limit its clients.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config/server-config';
import type { ServerMetrics } from '../observability/metrics';

export type ConnectionLimitsConfig = Pick<ServerConfig, 'maxConnections' | 'maxConnectionsPerAddress'>;

interface Log {
  warn(details: object, message: string): void;
}

/** One warning per second at most: a flood of refused connections must not become a flood of log lines. */
function throttledWarn(log: Log): (details: object, message: string) => void {
  let lastAt = 0;
  return (details, message) => {
    const now = Date.now();
    if (now - lastAt < 1000) return;
    lastAt = now;
    log.warn(details, message);
  };
}

export function registerConnectionLimits(
  server: Server,
  config: ConnectionLimitsConfig,
  metrics: ServerMetrics,
  log: Log,
): void {
  const warn = throttledWarn(log);
  // Node closes connections beyond maxConnections as they arrive and emits 'drop' for each.
  if (config.maxConnections > 0) {
    server.maxConnections = config.maxConnections;
    server.on('drop', () => {
      metrics.limited.inc({ limit: 'connections', route: 'connection' });
      warn(
        { limit: 'connections', maxConnections: config.maxConnections },
        'too many open connections; closing new ones',
      );
    });
  }
  if (config.maxConnectionsPerAddress <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (open.get(address) ?? 0) + 1;
    if (count > config.maxConnectionsPerAddress) {
      metrics.limited.inc({ limit: 'connections-per-address', route: 'connection' });
      warn(
        { limit: 'connections-per-address', address, maxConnectionsPerAddress: config.maxConnectionsPerAddress },
        'too many open connections from one address; closing new ones',
      );
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
