/** A real `node:http` server on 127.0.0.1:0 whose answers each test scripts; records what it received. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type Handler = (req: ReceivedRequest, res: ServerResponse) => void;

export interface TinyServer {
  url: string;
  received: ReceivedRequest[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export async function startTinyServer(initial?: Handler): Promise<TinyServer> {
  let handler: Handler = initial ?? ((_req, res) => res.writeHead(404).end());
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(record);
      handler(record, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    handle: (next) => {
      handler = next;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A URL on which nothing listens: a port that was just free. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function accessBody(access: { read: boolean; write: boolean }, kind: 'ci' | 'personal' | 'anonymous' = 'ci') {
  return {
    server: { version: '0.1.0' },
    workspace: { id: 'ws_aaaaaaaaaaaaaaaaaaaa', name: 'demo', organisation: { id: 'org_1', name: 'acme' } },
    principal: {
      kind,
      tokenId: kind === 'anonymous' ? null : 'tok_1',
      tokenName: kind === 'anonymous' ? null : 'ci',
      user: null,
    },
    access,
    expiresAt: null,
  };
}

import type { ClientConfig } from '../../../src/client/config';

export function clientConfigFor(url: string, overrides: Partial<ClientConfig> = {}): ClientConfig {
  return {
    url,
    credential: { token: 'nxsc_ci_testtoken', source: 'env' },
    keys: [],
    keySource: 'none',
    verification: { signers: [], required: false },
    timeouts: { connectMs: 1_000, requestMs: 1_000 },
    maxArtifactBytes: 1024 * 1024,
    warnings: [],
    ...overrides,
  };
}
