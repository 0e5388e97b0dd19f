/**
 * A tiny real HTTP server on 127.0.0.1 that answers `GET [/w/<id>]/v1/access` the way the cache
 * server does: JSON AccessResponse, JSON ErrorBody, or a text/plain 401 for unknown tokens.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessResponse } from '../../../src/protocol';

export const WORKSPACE_ID = 'ws_AbCdEfGhIjKlMnOpQrSt';
export const OTHER_WORKSPACE_ID = 'ws_ZyXwVuTsRqPoNmLkJiHg';

export interface FakeToken {
  kind: 'ci' | 'personal' | 'admin';
  /** CI tokens are bound to a workspace; personal ones need `/w/<id>` in the URL. */
  workspaceId?: string;
  user?: string;
  write?: boolean;
}

export interface FakeAccessServer {
  url: string;
  requests: Array<{ path: string; authorization?: string }>;
  close(): Promise<void>;
}

export function accessResponse(workspaceId: string, token: FakeToken | undefined): AccessResponse {
  return {
    server: { version: '0.0.0-test' },
    workspace: { id: workspaceId, name: 'web', organisation: { id: 'org_1', name: 'acme' } },
    principal: {
      kind: token?.kind ?? 'anonymous',
      tokenId: token ? 'tok_1' : null,
      tokenName: token ? `${token.kind} token` : null,
      user: token?.user ? { id: 'usr_1', name: token.user, bot: false } : null,
    },
    access: { read: true, write: token?.write ?? false },
    expiresAt: null,
  };
}

export async function startFakeAccessServer(
  tokens: Record<string, FakeToken>,
  options: { anonymousWorkspaces?: string[] } = {},
): Promise<FakeAccessServer> {
  const requests: FakeAccessServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const authorization = req.headers.authorization;
    requests.push({ path: req.url ?? '', ...(authorization ? { authorization } : {}) });
    const match = /^(?:\/w\/([^/]+))?\/v1\/access$/.exec(req.url ?? '');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || !match)
      return json(404, { error: { code: 'ERR_NOT_FOUND', message: 'no such route' } });
    const urlWorkspace = match[1];
    const bearer = authorization?.replace(/^Bearer /, '');
    if (!bearer) {
      if (urlWorkspace && options.anonymousWorkspaces?.includes(urlWorkspace))
        return json(200, accessResponse(urlWorkspace, undefined));
      return json(401, { error: { code: 'ERR_AUTH_TOKEN_MISSING', message: 'no credential' } });
    }
    const token = tokens[bearer];
    if (!token) {
      res
        .writeHead(401, { 'content-type': 'text/plain' })
        .end('ERR_AUTH_TOKEN_INVALID: the token is not known to this server');
      return;
    }
    const workspaceId = token.workspaceId ?? urlWorkspace;
    if (!workspaceId)
      return json(401, {
        error: {
          code: 'ERR_AUTH_WORKSPACE_REQUIRED',
          message: 'no workspace named: use /w/<workspace-id> or a workspace-bound token',
        },
      });
    if (urlWorkspace && token.workspaceId && urlWorkspace !== token.workspaceId) {
      return json(401, {
        error: { code: 'ERR_AUTH_WORKSPACE_MISMATCH', message: 'the token belongs to another workspace' },
      });
    }
    return json(200, accessResponse(workspaceId, token));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A URL on which nothing listens: a port we held and released. */
export async function unusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
