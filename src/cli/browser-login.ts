/**
 * The CLI half of browser-approved login: start a login request for one workspace, show the user code
 * and the page to type it into, poll until a signed-in member approves, and receive, once, a fresh
 * personal token bound to that workspace. No link with the code filled in is ever printed, so
 * approving needs the code from this terminal. The device code (the polling secret) never leaves
 * this process and is never printed.
 */
import { hostname } from 'node:os';
import { request } from 'undici';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode, SealedCacheError } from '../errors';
import { ErrorBody } from '../protocol';

const StartedRequest = z.object({
  requestId: z.string(),
  userCode: z.string(),
  deviceCode: z.string(),
  verificationUrl: z.string(),
  expiresAt: z.string(),
  intervalSeconds: z.number().int().min(1).max(60),
});
const PollAnswer = z.discriminatedUnion('status', [
  z.object({ status: z.literal('pending') }),
  z.object({
    status: z.literal('approved'),
    token: z.string(),
    tokenId: z.string(),
    user: z.object({ id: z.string(), name: z.string() }),
    workspaceId: z.string(),
  }),
]);

export interface BrowserLoginIo {
  out(line: string): void;
  /** Injected so tests do not wait for real time. */
  sleep?(ms: number): Promise<void>;
  hostname?: string;
}

export interface BrowserLoginResult {
  token: string;
  tokenId: string;
  userName: string;
  workspaceId: string;
}

/** Shown on the approval page beside the client address, so the approver can recognise their own terminal. */
const USER_AGENT = `nx-sealed-cache-cli (node ${process.version}; ${process.platform} ${process.arch})`;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function postJson(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  try {
    const headers = { 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT };
    const response = await request(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, json };
  } catch (err) {
    throw new SealedCacheError(
      'ERR_CLIENT_UNREACHABLE',
      `cannot reach the server at ${new URL(url).origin} (${(err as NodeJS.ErrnoException).code ?? 'network error'})`,
      { cause: err },
    );
  }
}

function parseAnswer<T extends z.ZodType>(schema: T, answer: { status: number; json: unknown }): z.infer<T> {
  if (answer.status < 200 || answer.status >= 300) {
    const body = ErrorBody.safeParse(answer.json);
    const code =
      body.success && body.data.error.code in ERROR_CODES
        ? (body.data.error.code as ErrorCode)
        : 'ERR_CLIENT_BAD_RESPONSE';
    const message = body.success ? body.data.error.message : `the server answered ${answer.status}`;
    if (code === 'ERR_NOT_FOUND')
      throw new SealedCacheError(
        'ERR_CLIENT_BAD_RESPONSE',
        'this server does not offer browser login (too old?); use `login --token-stdin` with a token from its admin page',
      );
    throw new SealedCacheError(code, message, { status: answer.status });
  }
  const parsed = schema.safeParse(answer.json);
  if (!parsed.success)
    throw new SealedCacheError(
      'ERR_CLIENT_BAD_RESPONSE',
      'the server answered the login request with an unexpected body',
    );
  return parsed.data;
}

export async function loginInBrowser(
  serverUrl: string,
  workspaceId: string,
  io: BrowserLoginIo,
): Promise<BrowserLoginResult> {
  const base = serverUrl.replace(/\/+$/, '');
  const machine = (io.hostname ?? hostname()).replace(/[^\x20-\x7e]/g, '?').slice(0, 100) || 'unknown host';
  const started = parseAnswer(
    StartedRequest,
    await postJson(`${base}/api/v1/login/requests`, { hostname: machine, workspaceId }),
  );
  io.out(
    `To log in to workspace ${workspaceId}, open ${started.verificationUrl} in a browser where you are signed in, and type the code:`,
  );
  io.out('');
  io.out(`    ${started.userCode}`);
  io.out('');
  io.out(
    `The page shows this machine's name and address; approve only if they are yours. Waiting for approval; the code expires at ${started.expiresAt}.`,
  );
  const sleep = io.sleep ?? defaultSleep;
  const attempts = Math.ceil((Date.parse(started.expiresAt) - Date.now()) / (started.intervalSeconds * 1000)) + 2;
  for (let i = 0; i < Math.max(attempts, 2); i++) {
    await sleep(started.intervalSeconds * 1000);
    const answer = parseAnswer(
      PollAnswer,
      await postJson(`${base}/api/v1/login/requests/${started.requestId}/poll`, { deviceCode: started.deviceCode }),
    );
    if (answer.status === 'approved')
      return {
        token: answer.token,
        tokenId: answer.tokenId,
        userName: answer.user.name,
        workspaceId: answer.workspaceId,
      };
  }
  throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'nobody approved the login in time; run login again');
}
