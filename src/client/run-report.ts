/**
 * Sends one run report (`POST /v1/runs`) after the tasks ran. Bounded by a short timeout of its own and
 * never throwing: a report that fails or is slow costs the run at most this one warning line.
 */
import { request } from 'undici';
import { isSealedCacheError } from '../errors';
import type { RunReportBody } from '../run-report-shape';
import { errorFromResponse } from './cache-server-client';
import type { ClientConfig } from './config';
import { workspaceBaseUrl } from './server-url';

export const RUN_REPORT_TIMEOUT_MS = 2_000;

/** Null when the report was taken (or the workspace takes none), else the warning to print. */
export async function sendRunReport(
  config: Pick<ClientConfig, 'url' | 'workspaceId' | 'credential'>,
  report: RunReportBody,
  timeoutMs = RUN_REPORT_TIMEOUT_MS,
): Promise<string | null> {
  const token = config.credential.token;
  // The server takes reports from tokens only; an anonymous run has no one to report as.
  if (!token || report.tasks.length === 0) return null;
  const url = `${workspaceBaseUrl(config.url, config.workspaceId)}/v1/runs`;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(report),
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode === 200 || res.statusCode === 201) {
      await res.body.dump();
      return null;
    }
    throw await errorFromResponse(res, 'POST /v1/runs');
  } catch (err) {
    const reason = isSealedCacheError(err)
      ? `${err.message} [${err.code}]`
      : signal.aborted || (err as { code?: unknown }).code === 'UND_ERR_HEADERS_TIMEOUT'
        ? `no answer within ${timeoutMs} ms`
        : 'the server could not be reached';
    return `nx-sealed-cache: the run report was not sent (${reason}); the build is not affected.`;
  }
}
