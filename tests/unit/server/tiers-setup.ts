/** A workspace with the credentials the tier tests need, on a real server (see test-server.ts). */
import { randomBytes } from 'node:crypto';
import { api, http, type HttpResult, type TestServer } from './test-server';

export interface TierWorkspace {
  orgId: string;
  wsId: string;
  base: string;
  /** Token values by role. */
  trusted: string;
  trustedId: string;
  isolated: string;
  isolatedId: string;
  readOnly: string;
}

export interface IssuedToken {
  id: string;
  token: string;
  tier: string | null;
  scope: string | null;
  access: string | null;
  expiresAt: string | null;
}

export async function createTierWorkspace(
  ts: TestServer,
  options: { anonymous?: 'none' | 'read' | 'read-write' } = {},
): Promise<TierWorkspace> {
  const suffix = randomBytes(4).toString('hex');
  const org = await api<{ id: string }>(ts, 'POST', '/orgs', { name: `org-${suffix}` });
  const ws = await api<{ id: string }>(ts, 'POST', '/workspaces', {
    org: org.id,
    name: 'ws',
    anonymousAccess: options.anonymous ?? 'read',
    memberDefaultAccess: 'read-write',
  });
  const trusted = await api<IssuedToken>(ts, 'POST', '/tokens', {
    kind: 'ci',
    workspaceId: ws.id,
    access: 'read-write',
    tier: 'trusted',
    name: 'main',
  });
  const isolated = await api<IssuedToken>(ts, 'POST', '/tokens', {
    kind: 'ci',
    workspaceId: ws.id,
    access: 'read-write',
    name: 'pr',
  });
  const readOnly = await api<IssuedToken>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: ws.id, access: 'read' });
  return {
    orgId: org.id,
    wsId: ws.id,
    base: `${ts.url}/w/${ws.id}/v1/cache`,
    trusted: trusted.token,
    trustedId: trusted.id,
    isolated: isolated.token,
    isolatedId: isolated.id,
    readOnly: readOnly.token,
  };
}

export const put = (w: TierWorkspace, hash: string, body: string, token?: string): Promise<HttpResult> =>
  http(`${w.base}/${hash}`, { method: 'PUT', token, raw: Buffer.from(body) });
export const get = (w: TierWorkspace, hash: string, token?: string): Promise<HttpResult> =>
  http(`${w.base}/${hash}`, { token });

/** `status body` of a GET, so one expectation shows both. */
export async function read(w: TierWorkspace, hash: string, token?: string): Promise<string> {
  const res = await get(w, hash, token);
  return res.status === 200 ? `200 ${res.text}` : String(res.status);
}

/** A member of the workspace's organisation and a personal token of theirs. */
export async function createMember(
  ts: TestServer,
  w: TierWorkspace,
  options: { role?: 'admin' | 'member'; tier?: 'trusted' | 'isolated'; bot?: boolean } = {},
): Promise<{ userId: string; name: string; token: string; tokenId: string }> {
  const name = `user-${randomBytes(4).toString('hex')}`;
  const user = await api<{ id: string }>(ts, 'POST', '/users', { name, bot: options.bot ?? false });
  await api(ts, 'POST', `/orgs/${w.orgId}/members`, { user: user.id, role: options.role ?? 'member' });
  const token = await api<IssuedToken>(ts, 'POST', '/tokens', {
    kind: 'personal',
    user: user.id,
    workspaceId: w.wsId,
    ...(options.tier ? { tier: options.tier } : {}),
  });
  return { userId: user.id, name, token: token.token, tokenId: token.id };
}
