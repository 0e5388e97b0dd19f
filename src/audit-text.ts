/**
 * How an audit event is said to people, in one place, so the web page's audit log and `audit list` read
 * the same: names where the log holds ids, details as `key: value` text, never a JSON blob.
 */

/** Display names for the ids an event holds (users, tokens, workspaces, organisations, login requests). */
export type AuditNames = Readonly<Record<string, string>>;

/** The ids the log holds, by their prefix (src/server/ids.ts, login requests and trust policies beside their services). */
export const AUDIT_ID_PATTERN = /^(?:usr|tok|org|ws|inv|lrq|tp)_[A-Za-z0-9]{16,20}$/;

export const isAuditId = (value: unknown): value is string => typeof value === 'string' && AUDIT_ID_PATTERN.test(value);

/** The name for an id, or the id itself when the server knows none (a token swept since, an older server). */
export const auditName = (id: string, names: AuditNames): string => names[id] ?? id;

/** `ada (usr_…)` for text without tooltips; the bare id when there is no name. */
export function auditNameWithId(id: string, names: AuditNames): string {
  const name = names[id];
  return name === undefined || name === id ? id : `${name} (${id})`;
}

/** Labels that are more than the key's words. */
const DETAIL_LABELS: Readonly<Record<string, string>> = {
  expiresAt: 'expires',
  memberDefaultAccess: "members' default",
  clientAddress: 'address',
  ssoIdentity: 'SSO identity',
  scimUser: 'SCIM user',
};

/**
 * A detail's key as people read it: `userId` says `user` (its value is the user's name), `personalTokenTier`
 * says `personal token tier`. Keys that are not camelCase (an identity provider's claims) stay as recorded.
 */
export function auditDetailLabel(key: string): string {
  const known = DETAIL_LABELS[key];
  if (known !== undefined) return known;
  if (!/^[a-z]+(?:[A-Z][a-z]*)+$/.test(key)) return key;
  return key.replace(/Id(s?)$/, (_, plural: string) => plural).replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z$/;

/** `2031-01-01T00:00:00.000Z` as `1 Jan 2031, 00:00 UTC`, the way the pages write dates. */
function instantText(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const hm = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
  return `${at.getUTCDate()} ${MONTHS[at.getUTCMonth()]} ${at.getUTCFullYear()}, ${hm} UTC`;
}

/** One detail's value as text: ids as names, instants as dates, arrays joined by commas, objects as `key: value` pairs. */
export function auditValueText(value: unknown, names: AuditNames): string {
  if (value === null || value === undefined) return '-';
  if (isAuditId(value)) return auditName(value, names);
  if (typeof value === 'string' && ISO_INSTANT.test(value)) return instantText(value);
  if (Array.isArray(value)) return value.map((v) => auditValueText(v, names)).join(', ');
  if (typeof value === 'object')
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${auditDetailLabel(k)}: ${auditValueText(v, names)}`)
      .join('; ');
  return String(value);
}

/** An event's details as `[label, value text]` pairs, in the order they were recorded. */
export function auditDetailPairs(details: Record<string, unknown>, names: AuditNames): [string, string][] {
  return Object.entries(details).map(([key, value]) => [auditDetailLabel(key), auditValueText(value, names)]);
}

/** The details on one line: `access: read-write · hostname: build-box`. */
export const auditDetailsLine = (details: Record<string, unknown>, names: AuditNames): string =>
  auditDetailPairs(details, names)
    .map(([key, value]) => `${key}: ${value}`)
    .join(' · ');

/** Who did it: the person, else the token (a CI token has no person), else anonymous. */
export function auditActorId(event: { actorUserId: string | null; actorTokenId: string | null }): string | null {
  return event.actorUserId ?? event.actorTokenId;
}
