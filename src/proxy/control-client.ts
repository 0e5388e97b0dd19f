/** The hook's side of the control channel: short, authenticated loopback requests. */
import http from 'node:http';
import { SealedCacheError } from '../errors';
import {
  CONTROL_PREFIX,
  isFinishRunResponse,
  isPingResponse,
  isRegisterRunResponse,
  type AnswerCheck,
  type FinishRunResponse,
  type PingResponse,
  type RegisterRunResponse,
} from './control-answers';
import type { RunReportDraft } from '../run-report-shape';
import type { ProxyState } from './state-file';

const CONTROL_TIMEOUT_MS = 3_000;
/** Finishing waits for the run's session to close; still bounded so `postTasksExecution` never hangs. */
const FINISH_TIMEOUT_MS = 10_000;
/** A run summary with its warnings is a few KiB; anything far larger is not our proxy. */
const MAX_ANSWER_BYTES = 1024 * 1024;

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
    isRegisterRunResponse,
    CONTROL_TIMEOUT_MS,
  );
}

export async function finishRun(state: ProxyState, runId: string, report?: RunReportDraft): Promise<FinishRunResponse> {
  return controlRequest(state, 'POST', '/finish', { runId, report }, isFinishRunResponse, FINISH_TIMEOUT_MS);
}

export async function pingProxy(state: ProxyState): Promise<PingResponse> {
  return controlRequest(state, 'GET', '/ping', undefined, isPingResponse, CONTROL_TIMEOUT_MS);
}

async function controlRequest<T>(
  state: ProxyState,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  check: AnswerCheck<T>,
  timeoutMs: number,
): Promise<T> {
  let answer: { status: number; text: string };
  try {
    answer = await loopbackRequest(state, method, path, body, timeoutMs);
  } catch (cause) {
    throw new SealedCacheError(
      'ERR_PROXY_START_FAILED',
      `The proxy on port ${state.port} did not answer ${method} ${path}.`,
      {
        cause,
      },
    );
  }
  if (answer.status !== 200) {
    throw new SealedCacheError(
      'ERR_PROXY_START_FAILED',
      `The proxy control channel answered ${answer.status} to ${method} ${path}.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    json = undefined;
  }
  if (!check(json)) {
    throw new SealedCacheError(
      'ERR_PROXY_START_FAILED',
      `The proxy control channel sent an unexpected answer to ${path}.`,
    );
  }
  return json;
}

/**
 * One request on its own connection (no agent: no keep-alive socket may hold a plugin worker open), with
 * node:http so the hooks load no HTTP client library; the whole exchange is bounded by `timeoutMs`.
 */
function loopbackRequest(
  state: ProxyState,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: state.port,
        method,
        path: `${CONTROL_PREFIX}${path}`,
        agent: false,
        headers: {
          authorization: `Bearer ${state.controlSecret}`,
          'content-type': 'application/json',
          ...(payload ? { 'content-length': String(payload.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end(payload);
  });
}
