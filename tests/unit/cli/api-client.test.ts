import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminApiClient } from '../../../src/cli/api-client';
import { OrganisationJson, WorkspaceJson } from '../../../src/protocol';

let server: Server;
let url: string;
const answers: Record<string, unknown> = {
  '/api/v1/orgs/good': { id: 'org_1', name: 'acme', public: false },
  '/api/v1/orgs/bad': { id: 'org_1', name: 'acme', public: 'yes' },
  '/api/v1/workspaces': [
    {
      id: 'ws_1',
      name: 'mono',
      orgId: 'org_1',
      anonymousAccess: 'everything',
      memberDefaultAccess: 'read',
      personalTokenTier: 'isolated',
      isolatedRetention: '7d',
    },
  ],
};

beforeAll(async () => {
  server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(answers[request.url ?? ''] ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

describe('AdminApiClient.read', () => {
  it('returns an answer that fits its schema', async () => {
    await expect(
      new AdminApiClient({ url, token: undefined }).read(OrganisationJson, 'GET', '/orgs/good'),
    ).resolves.toEqual({ id: 'org_1', name: 'acme', public: false });
  });

  it('refuses a malformed answer with ERR_CLIENT_BAD_RESPONSE instead of casting it', async () => {
    await expect(
      new AdminApiClient({ url, token: undefined }).read(OrganisationJson, 'GET', '/orgs/bad'),
    ).rejects.toMatchObject({ code: 'ERR_CLIENT_BAD_RESPONSE', message: expect.stringContaining('public') as unknown });
    await expect(
      new AdminApiClient({ url, token: undefined }).read(WorkspaceJson.array(), 'GET', '/workspaces'),
    ).rejects.toMatchObject({ code: 'ERR_CLIENT_BAD_RESPONSE' });
  });
});
