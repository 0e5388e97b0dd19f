/** A small client for the admin API, as the CLI uses it. The token goes only into the Authorization header. */
import { type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { ERROR_CODES, type ErrorCode, SealedCacheError } from '../errors';
import { ErrorBody } from '../protocol';

export interface AdminApiClientOptions {
  url: string;
  token: string | undefined;
  dispatcher?: Dispatcher;
}

export class AdminApiClient {
  private readonly baseUrl: string;

  constructor(private readonly options: AdminApiClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
  }

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.baseUrl}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.options.dispatcher,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
    } catch (err) {
      throw new SealedCacheError(
        'ERR_CLIENT_UNREACHABLE',
        `cannot reach the server at ${this.baseUrl} (${(err as NodeJS.ErrnoException).code ?? 'network error'})`,
        { cause: err },
      );
    }
    const text = await response.body.text();
    const parsed = parseJson(text);
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (parsed === undefined)
        throw new SealedCacheError(
          'ERR_CLIENT_BAD_RESPONSE',
          `the server answered ${response.statusCode} without JSON`,
        );
      return parsed as T;
    }
    throw errorFromResponse(response.statusCode, parsed);
  }

  /** `call`, then the answer parsed with its wire schema: a malformed answer is ERR_CLIENT_BAD_RESPONSE, never a cast. */
  async read<S extends z.ZodType>(
    schema: S,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<z.output<S>> {
    const answer = schema.safeParse(await this.call<unknown>(method, path, body));
    if (!answer.success) {
      const issue = answer.error.issues[0];
      throw new SealedCacheError(
        'ERR_CLIENT_BAD_RESPONSE',
        `the server's answer to ${method} ${path} is not what this CLI expects (${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'invalid'})`,
      );
    }
    return answer.data;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** An error answer of the admin API as the SealedCacheError it names (a code this CLI does not know is a bad response). */
export function errorFromResponse(status: number, parsed: unknown): SealedCacheError {
  const body = ErrorBody.safeParse(parsed);
  if (!body.success)
    return new SealedCacheError('ERR_CLIENT_BAD_RESPONSE', `the server answered ${status} with an unexpected body`);
  const code = body.data.error.code;
  if (!(code in ERROR_CODES))
    return new SealedCacheError(
      'ERR_CLIENT_BAD_RESPONSE',
      `the server answered ${status} ${code}: ${body.data.error.message}`,
    );
  return new SealedCacheError(code as ErrorCode, body.data.error.message, { status });
}
