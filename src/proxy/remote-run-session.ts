/**
 * Adapts the client core's RemoteSession to what the proxy needs: one session per Nx run, its
 * warnings relayed to the hook, and the server's "already exists" kept so Nx gets a 409.
 */
import type { Readable } from 'node:stream';
import {
  applyCiIdentity,
  CacheServerClient,
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
    const client = rememberPutOutcomes(new CacheServerClient(config), putOutcomes);
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

/** The session reduces a PUT to true/false; this keeps the server's own answer per hash. */
function rememberPutOutcomes(port: CacheServerPort, outcomes: Map<string, PutArtifactResult>): CacheServerPort {
  return {
    access: () => port.access(),
    getArtifact: (hash) => port.getArtifact(hash),
    async putArtifact(hash, body, length) {
      const result = await port.putArtifact(hash, body, length);
      outcomes.set(hash, result);
      return result;
    },
    close: () => port.close(),
  };
}
