/** A minimal cache server on 127.0.0.1:0 whose behaviour each test sets: the proxy's upstream. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type UpstreamBehaviour = 'normal' | 'error500' | 'hang';

export interface TinyUpstream {
  url: string;
  blobs: Map<string, Buffer>;
  /** Every Authorization header seen, to prove which credential reached the server. */
  authorizations: string[];
  behaviour: UpstreamBehaviour;
  access: { read: boolean; write: boolean };
  close(): Promise<void>;
}

export const UPSTREAM_TOKEN = 'nxsc_ci_unit_test_token_0123456789';

export async function startTinyUpstream(): Promise<TinyUpstream> {
  const hanging = new Set<http.ServerResponse>();
  const upstream: TinyUpstream = {
    url: '',
    blobs: new Map(),
    authorizations: [],
    behaviour: 'normal',
    access: { read: true, write: true },
    close: async () => {
      hanging.forEach((res) => res.destroy());
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    upstream.authorizations.push(req.headers.authorization ?? '');
    if (req.headers.authorization !== `Bearer ${UPSTREAM_TOKEN}`) return reply(res, 401);
    const url = req.url ?? '';
    if (url.endsWith('/v1/access')) return replyJson(res, accessBody(upstream.access));
    const match = /\/v1\/cache\/([A-Za-z0-9_-]+)$/.exec(url);
    if (!match) return reply(res, 404);
    if (upstream.behaviour === 'hang') {
      hanging.add(res);
      req.resume();
      return;
    }
    if (upstream.behaviour === 'error500') return req.resume().on('end', () => reply(res, 500));
    const hash = match[1]!;
    if (req.method === 'GET') {
      const blob = upstream.blobs.get(hash);
      if (!blob) return reply(res, 404);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) });
      return res.end(blob);
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (!upstream.access.write) return reply(res, 403);
      if (upstream.blobs.has(hash)) return reply(res, 409);
      upstream.blobs.set(hash, Buffer.concat(chunks));
      reply(res, 200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}

function accessBody(access: { read: boolean; write: boolean }) {
  return {
    server: { version: 'test' },
    workspace: { id: 'ws_00000000000000000000', name: 'unit', organisation: { id: 'org_1', name: 'org' } },
    principal: { kind: 'ci', tokenId: 'tok_1', tokenName: 'unit', user: null },
    access,
    expiresAt: null,
  };
}

function reply(res: http.ServerResponse, status: number): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(String(status));
}

function replyJson(res: http.ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
