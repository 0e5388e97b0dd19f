/** The hook's side of the control channel: short, authenticated loopback requests. */
import { Client } from 'undici';
import { type z } from 'zod';
import { SealedCacheError } from '../errors';
import { CONTROL_PREFIX, FinishRunResponse, PingResponse, RegisterRunResponse } from './control-protocol';
import type { ProxyState } from './state-file';

const CONTROL_TIMEOUT_MS = 3_000;
/** Finishing waits for the run's session to close; still bounded so `postTasksExecution` never hangs. */
const FINISH_TIMEOUT_MS = 10_000;

export function proxyUrl(state: Pick<ProxyState, 'port'>): string {
  return `http://127.0.0.1:${state.port}`;
}

export async function registerRun(
  state: ProxyState,
  runId: string,
  secret: string,
  shieldVulnerableNx = true,
): Promise<RegisterRunResponse> {
  return controlRequest(
    state,
    'POST',
    '/runs',
    { runId, secret, shieldVulnerableNx },
    RegisterRunResponse,
    CONTROL_TIMEOUT_MS,
  );
}

export async function finishRun(state: ProxyState, runId: string): Promise<FinishRunResponse> {
  return controlRequest(state, 'POST', '/finish', { runId }, FinishRunResponse, FINISH_TIMEOUT_MS);
}

export async function pingProxy(state: ProxyState): Promise<PingResponse> {
  return controlRequest(state, 'GET', '/ping', undefined, PingResponse, CONTROL_TIMEOUT_MS);
}

async function controlRequest<T>(
  state: ProxyState,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  schema: z.ZodType<T>,
  timeoutMs: number,
): Promise<T> {
  // A client per call: no keep-alive socket may hold a plugin worker open.
  const client = new Client(proxyUrl(state), {
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  try {
    const res = await client.request({
      method,
      path: `${CONTROL_PREFIX}${path}`,
      headers: { authorization: `Bearer ${state.controlSecret}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new SealedCacheError(
        'ERR_PROXY_START_FAILED',
        `The proxy control channel answered ${res.statusCode} to ${method} ${path}.`,
      );
    }
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new SealedCacheError(
        'ERR_PROXY_START_FAILED',
        `The proxy control channel sent an unexpected answer to ${path}.`,
      );
    return parsed.data;
  } catch (err) {
    if (err instanceof SealedCacheError) throw err;
    throw new SealedCacheError(
      'ERR_PROXY_START_FAILED',
      `The proxy on port ${state.port} did not answer ${method} ${path}.`,
      { cause: err },
    );
  } finally {
    await client.close().catch(() => undefined);
  }
}
