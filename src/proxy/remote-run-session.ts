/**
 * Adapts the client core's RemoteSession to what the proxy needs: one session per Nx run, its
 * warnings relayed to the hook, and the server's "already exists" kept so Nx gets a 409.
 */
import type { Readable } from 'node:stream';
import type { Agent } from 'undici';
import {
  applyCiIdentity,
  CacheServerClient,
  createClientAgent,
  formatRunSummary,
  openRemoteSession,
  resolveClientConfig,
  type CacheServerPort,
  type ClientConfig,
  type PutArtifactResult,
  type RemoteSession,
} from '../client';
import { sendRunReport } from '../client/run-report';
import type { OpenRunSession, ProxyRunSession, StoreOutcome } from './run-session';

/** What the proxy process needs to resolve the same client config as the hook did. */
export interface ClientInputs {
  options: unknown;
  env: Record<string, string>;
  homeDir?: string;
}

export function createRemoteSessionOpener(inputs: ClientInputs): OpenRunSession {
  return async (_runId, warn) => {
    const config = await applyCiIdentity(
      resolveClientConfig({
        options: inputs.options,
        env: inputs.env,
        homeDir: inputs.homeDir,
        reportUnknownOptions: true,
      }),
      inputs.env,
    );
    const putOutcomes = new Map<string, PutArtifactResult>();
    const client = rememberPutOutcomes(new CacheServerClient(config, sharedAgent(config)), putOutcomes);
    const session = await openRemoteSession(config, { client, warn, info: () => undefined });
    return adaptRemoteSession(session, config, putOutcomes);
  };
}

export function adaptRemoteSession(
  session: RemoteSession,
  config: ClientConfig,
  putOutcomes: Map<string, PutArtifactResult>,
): ProxyRunSession {
  return {
    get mode() {
      return session.mode;
    },
    fetchOpened: (hash: string): Promise<Readable | null> => session.fetchSealed(hash),
    fetchOpenedHeld: (hash, hold, signal) => session.fetchOpenedHeld(hash, hold, signal),
    async storeSealed(hash: string, plain: Readable, plainLength: number): Promise<StoreOutcome> {
      const stored = await session.storeSealed(hash, plain, plainLength);
      const outcome = putOutcomes.get(hash);
      putOutcomes.delete(hash);
      if (stored) return 'stored';
      return outcome === 'exists' ? 'exists' : 'denied';
    },
    reportRun: async (report) => (session.mode === 'off' ? null : sendRunReport(config, report)),
    summary: () => formatRunSummary(session.stats, config, session),
    close: () => session.close(),
  };
}

/**
 * One connection pool per proxy process (per connect timeout), shared by its runs: a warm proxy's next run reuses
 * the connections the last one opened instead of connecting anew for every artifact Nx asks for at once. Connections
 * carry no credential: every request sends its run's token and the server checks it on each one.
 */
const agents = new Map<number, Agent>();

function sharedAgent(config: ClientConfig): Agent {
  const connectMs = config.timeouts.connectMs;
  let agent = agents.get(connectMs);
  if (!agent) {
    agent = createClientAgent(config);
    agents.set(connectMs, agent);
  }
  return agent;
}

/** The session reduces a PUT to true/false; this keeps the server's own answer per hash. */
function rememberPutOutcomes(port: CacheServerPort, outcomes: Map<string, PutArtifactResult>): CacheServerPort {
  return {
    access: () => port.access(),
    getArtifact: (hash) => port.getArtifact(hash),
    ...(port.getArtifactHeld
      ? { getArtifactHeld: port.getArtifactHeld.bind(port) as CacheServerPort['getArtifactHeld'] }
      : {}),
    async putArtifact(hash, body, length) {
      const result = await port.putArtifact(hash, body, length);
      outcomes.set(hash, result);
      return result;
    },
    close: () => port.close(),
  };
}
