/**
 * Names for the ids audit events hold, for the audit page and `GET /api/v1/audit`. Read from the store
 * at listing time, so a renamed thing shows its name of today; a token that no longer exists falls back
 * to the name its `token.created` event recorded, else to its id. Inside an organisation's log only that
 * organisation's workspaces and tokens are named: another tenant's names never leak through an id.
 */
import { type AuditNames, isAuditId } from '../../audit-text';
import type { MetadataStore } from '../metadata/metadata-store';
import type { AuditEvent, TokenRecord } from '../metadata/records';

type NameStore = Pick<MetadataStore, 'findUser' | 'findToken' | 'findWorkspace' | 'findOrganisation'>;

/** How a token reads in the log: its name, or its kind when it has none. */
export const tokenDisplayName = (token: Pick<TokenRecord, 'name' | 'kind'>): string =>
  token.name === null ? `${token.kind} token` : `token “${token.name}”`;

function idsOf(event: AuditEvent): Set<string> {
  const ids = new Set<string>();
  const add = (value: unknown): void => {
    if (isAuditId(value)) ids.add(value);
    else if (Array.isArray(value)) value.forEach(add);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(add);
  };
  add([event.actorUserId, event.actorTokenId, event.orgId, event.workspaceId, event.targetId, event.details]);
  return ids;
}

/** What `token.created` rows recorded, for tokens swept since (the row outlives the token). */
function recordedTokenNames(events: AuditEvent[]): Map<string, string> {
  const recorded = new Map<string, string>();
  for (const e of events) {
    if (e.action !== 'token.created' || e.targetId === null) continue;
    const { name, kind } = e.details;
    if (typeof name === 'string') recorded.set(e.targetId, `token “${name}” (gone)`);
    else if (typeof kind === 'string') recorded.set(e.targetId, `${kind} token (gone)`);
  }
  return recorded;
}

/**
 * One map for the whole listing. `orgId`: the log is that organisation's, so workspaces and tokens of
 * other organisations stay ids (users are named: a person's name is not a tenant's secret).
 */
export async function resolveAuditNames(
  store: NameStore,
  events: AuditEvent[],
  orgId: string | undefined,
): Promise<Record<string, string>> {
  const ids = new Set<string>();
  for (const e of events) for (const id of idsOf(e)) ids.add(id);
  const recorded = recordedTokenNames(events);
  const names: Record<string, string> = {};
  const workspaceOrg = new Map<string, string | undefined>();
  const orgOfWorkspace = async (workspaceId: string): Promise<string | undefined> => {
    if (!workspaceOrg.has(workspaceId)) workspaceOrg.set(workspaceId, (await store.findWorkspace(workspaceId))?.orgId);
    return workspaceOrg.get(workspaceId);
  };
  const visible = async (workspaceId: string | null): Promise<boolean> =>
    orgId === undefined || (workspaceId !== null && (await orgOfWorkspace(workspaceId)) === orgId);
  for (const id of ids) {
    if (id.startsWith('usr_')) {
      const user = await store.findUser(id);
      if (user !== undefined && user.id === id) names[id] = user.name;
    } else if (id.startsWith('ws_')) {
      const ws = await store.findWorkspace(id);
      if (ws !== undefined && (await visible(ws.id))) names[id] = ws.name;
    } else if (id.startsWith('org_')) {
      const org = await store.findOrganisation(id);
      if (org !== undefined && org.id === id && (orgId === undefined || org.id === orgId)) names[id] = org.name;
    } else if (id.startsWith('tok_')) {
      const token = await store.findToken(id);
      if (token === undefined) {
        const gone = recorded.get(id);
        if (gone !== undefined) names[id] = gone;
      } else if (token.kind === 'admin') {
        // Server-wide, in no organisation: what it is says enough, and its own name stays out of tenants' logs.
        names[id] = 'server admin token';
      } else if (await visible(token.workspaceId)) names[id] = tokenDisplayName(token);
    } else if (id.startsWith('lrq_')) {
      const hostname = events.find((e) => e.targetId === id && typeof e.details.hostname === 'string')?.details
        .hostname;
      names[id] = typeof hostname === 'string' ? `CLI login from ${hostname}` : 'CLI login';
    } else if (id.startsWith('tp_')) {
      const name = events.find((e) => e.targetId === id && typeof e.details.name === 'string')?.details.name;
      if (typeof name === 'string') names[id] = `trust policy “${name}”`;
    }
  }
  return names;
}

/** The part of `names` one event refers to, for the API's per-event `names`. */
export function namesFor(event: AuditEvent, names: AuditNames): Record<string, string> {
  const own: Record<string, string> = {};
  for (const id of idsOf(event)) if (names[id] !== undefined) own[id] = names[id];
  return own;
}
