/**
 * SCIM 2.0 deprovisioning (RFC 7643/7644, the User resource only): an identity provider pushes its
 * users to `/scim/v2/Users` with a bearer token configured for it, and marks one inactive (PATCH or PUT
 * `active: false`) or deletes it when the person leaves. That stops, at once, every token made through
 * the SSO identity the SCIM user names, ends the person's sessions from that provider, and refuses
 * their sign-ins through it until the provider reactivates them. A SCIM user grants nothing by itself:
 * accounts are still made only by a sign-in (join by domain, or an invite).
 */
import { createHash, randomBytes } from 'node:crypto';
import { SealedCacheError } from '../../errors';
import { equalSecrets } from '../../crypto/constant-time';
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { AuditLog } from '../services/audit-log';
import { stopIdentity } from './identity-stop';
import type { ScimMatchRule, ScimUser, ScimUserFields } from './scim-store';
import type { ScimSettings, SsoConfig, SsoProvider } from './sso-config';
import { oidcProviderKey } from './sso-store';

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SCIM_PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
/** The most users one list answer holds (`count` above it is lowered to it). */
export const SCIM_MAX_RESULTS = 100;
const MAX_TEXT = 512;
const MAX_EMAILS = 20;
const MAX_OPERATIONS = 50;

export const scimMatchRule = (provider: SsoProvider, scim: ScimSettings): ScimMatchRule => ({
  providerKey: oidcProviderKey(provider.issuer),
  subjectFrom: scim.subjectFrom,
  matchEmail: scim.matchEmail,
});

/** A refusal in SCIM's terms: `scimType` when RFC 7644 names one (invalidFilter, invalidValue, uniqueness…). */
export class ScimError extends SealedCacheError {
  constructor(
    code: 'ERR_SCIM_UNAUTHORIZED' | 'ERR_SCIM_INVALID' | 'ERR_SCIM_NOT_FOUND' | 'ERR_SCIM_CONFLICT',
    message: string,
    readonly scimType?: string,
  ) {
    super(code, message);
  }
}

const invalid = (message: string, scimType = 'invalidValue'): ScimError =>
  new ScimError('ERR_SCIM_INVALID', message, scimType);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function text(value: unknown, name: string, options: { optional: true }): string | null;
function text(value: unknown, name: string): string;
function text(value: unknown, name: string, options?: { optional: true }): string | null {
  if ((value === undefined || value === null) && options?.optional) return null;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`${name} must be a non-empty string`);
  if (value.length > MAX_TEXT) throw invalid(`${name} is longer than ${MAX_TEXT} characters`);
  // Control characters have no place in a name or an id, and would only end up in logs and pages.
  if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw invalid(`${name} holds control characters`);
  return value.trim();
}

/** `true`/`false`, or the strings "True"/"False" that Entra ID sends in PATCH values. */
function activeValue(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw invalid('active must be true or false');
}

function emailsValue(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  if (list.length > MAX_EMAILS) throw invalid(`at most ${MAX_EMAILS} emails`);
  return list.map((item) => text(isRecord(item) ? item.value : item, 'emails[].value'));
}

/** The provider-owned fields of a full User resource (POST, PUT); other attributes are accepted and not kept. */
export function userFieldsOf(body: unknown): ScimUserFields {
  if (!isRecord(body)) throw invalid('the body must be a SCIM User object', 'invalidSyntax');
  return {
    userName: text(body.userName, 'userName'),
    externalId: text(body.externalId, 'externalId', { optional: true }),
    emails: emailsValue(body.emails),
    active: body.active === undefined ? true : activeValue(body.active),
  };
}

/** Applies a PatchOp body to the fields: add/replace/remove of active, userName, externalId and emails. */
export function patchedFields(current: ScimUserFields, body: unknown): ScimUserFields {
  if (!isRecord(body) || !Array.isArray(body.schemas) || !body.schemas.includes(SCIM_PATCH_SCHEMA))
    throw invalid(`a PATCH body names the schema ${SCIM_PATCH_SCHEMA}`, 'invalidSyntax');
  const operations = body.Operations;
  if (!Array.isArray(operations) || operations.length === 0 || operations.length > MAX_OPERATIONS)
    throw invalid(`Operations must list 1 to ${MAX_OPERATIONS} operations`, 'invalidSyntax');
  let fields = { ...current };
  for (const operation of operations) {
    if (!isRecord(operation) || typeof operation.op !== 'string')
      throw invalid('each operation has an op', 'invalidSyntax');
    const op = operation.op.toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove')
      throw invalid(`unknown op "${operation.op.slice(0, 20)}"`, 'invalidSyntax');
    const path = operation.path === undefined ? undefined : text(operation.path, 'path');
    if (path === undefined) {
      // No path: the value is an object of attributes (Okta's `{"active": false}`).
      if (op === 'remove') throw invalid('remove needs a path', 'noTarget');
      if (!isRecord(operation.value)) throw invalid('an operation without a path carries an object value');
      for (const [attribute, value] of Object.entries(operation.value)) fields = setAttribute(fields, attribute, value);
    } else if (op === 'remove') fields = removeAttribute(fields, path);
    else fields = setAttribute(fields, path, operation.value);
  }
  return fields;
}

function attributeOf(path: string): string {
  // `emails[type eq "work"].value` and `urn:…:User:active` name the same attributes as their plain forms.
  const plain = path.replace(/^urn:ietf:params:scim:schemas:core:2\.0:User:/i, '');
  return /^emails(\[|\.|$)/i.test(plain) ? 'emails' : plain;
}

function setAttribute(fields: ScimUserFields, path: string, value: unknown): ScimUserFields {
  switch (attributeOf(path).toLowerCase()) {
    case 'active':
      return { ...fields, active: activeValue(value) };
    case 'username':
      return { ...fields, userName: text(value, 'userName') };
    case 'externalid':
      return { ...fields, externalId: text(value, 'externalId', { optional: true }) };
    case 'emails':
      return { ...fields, emails: emailsValue(value) };
    default:
      // Names, titles, phone numbers…: a provider sends them all; nothing here uses them.
      return fields;
  }
}

function removeAttribute(fields: ScimUserFields, path: string): ScimUserFields {
  switch (attributeOf(path).toLowerCase()) {
    case 'username':
    case 'active':
      throw invalid(`${path} cannot be removed`, 'mutability');
    case 'externalid':
      return { ...fields, externalId: null };
    case 'emails':
      return { ...fields, emails: [] };
    default:
      return fields;
  }
}

/** `userName eq "x"` or `externalId eq "x"`: the filters providers send to find a user before creating it. */
export function parseFilter(
  filter: string | undefined,
): { attribute: 'userName' | 'externalId'; value: string } | undefined {
  if (filter === undefined || filter.trim() === '') return undefined;
  const match = /^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.){1,512})"\s*$/i.exec(filter);
  if (match === null)
    throw invalid('only the filters userName eq "…" and externalId eq "…" are supported', 'invalidFilter');
  const attribute = (match[1] as string).toLowerCase() === 'username' ? 'userName' : 'externalId';
  return { attribute, value: (match[2] as string).replace(/\\(.)/g, '$1') };
}

export interface ScimDeps {
  config: SsoConfig | undefined;
  store: MetadataStore;
  audit: AuditLog;
  clock: Clock;
}

export type ScimResource = Record<string, unknown>;

export class ScimService {
  constructor(private readonly deps: ScimDeps) {}

  /** The provider whose SCIM token this is; every configured token is compared, in constant time. */
  authenticate(authorization: string | undefined): SsoProvider & { scim: ScimSettings } {
    const token = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(authorization ?? '')?.[1];
    const digest = createHash('sha256')
      .update(token ?? '')
      .digest();
    let found: (SsoProvider & { scim: ScimSettings }) | undefined;
    for (const provider of this.deps.config?.providers ?? [])
      if (provider.scim !== undefined && equalSecrets(digest, provider.scim.tokenDigest) && token !== undefined)
        found ??= provider as SsoProvider & { scim: ScimSettings };
    if (found === undefined)
      throw new ScimError(
        'ERR_SCIM_UNAUTHORIZED',
        'this SCIM endpoint needs the bearer token configured for a provider (docs/sso.md, "SCIM")',
      );
    return found;
  }

  resource(user: ScimUser): ScimResource {
    return {
      schemas: [SCIM_USER_SCHEMA],
      id: user.id,
      ...(user.externalId === null ? {} : { externalId: user.externalId }),
      userName: user.userName,
      active: user.active,
      emails: user.emails.map((value, i) => ({ value, primary: i === 0 })),
      meta: {
        resourceType: 'User',
        created: user.createdAt,
        lastModified: user.updatedAt,
        location: this.location(user.id),
      },
    };
  }

  location(id: string): string {
    return `${this.deps.config?.publicUrl ?? ''}/scim/v2/Users/${id}`;
  }

  async list(
    provider: SsoProvider,
    query: { filter?: string; startIndex?: string; count?: string },
  ): Promise<ScimResource> {
    const filter = parseFilter(query.filter);
    const startIndex = positive(query.startIndex, 'startIndex', 1);
    const count = Math.min(positive(query.count, 'count', SCIM_MAX_RESULTS, true), SCIM_MAX_RESULTS);
    const { total, users } = await this.deps.store.scim.listUsers(provider.id, filter, startIndex - 1, count);
    return {
      schemas: [SCIM_LIST_SCHEMA],
      totalResults: total,
      startIndex,
      itemsPerPage: users.length,
      Resources: users.map((u) => this.resource(u)),
    };
  }

  async get(provider: SsoProvider, id: string): Promise<ScimUser> {
    const user = /^scim_[A-Za-z0-9_-]{10,64}$/.test(id)
      ? await this.deps.store.scim.findUser(provider.id, id)
      : undefined;
    if (user === undefined)
      throw new ScimError('ERR_SCIM_NOT_FOUND', `no SCIM user ${id.slice(0, 80)} at this provider`);
    return user;
  }

  async create(provider: SsoProvider & { scim: ScimSettings }, body: unknown): Promise<ScimUser> {
    const fields = userFieldsOf(body);
    const at = this.deps.clock().toISOString();
    const user: ScimUser = {
      id: `scim_${randomBytes(16).toString('base64url')}`,
      providerId: provider.id,
      ...fields,
      createdAt: at,
      updatedAt: at,
      deactivatedAt: fields.active ? null : at,
    };
    if (!(await this.deps.store.scim.insertUser(user)))
      throw new ScimError('ERR_SCIM_CONFLICT', `a SCIM user named ${fields.userName} already exists`, 'uniqueness');
    await this.record(provider, 'scim.provisioned', user);
    if (!user.active) await this.deactivate(provider, user);
    return user;
  }

  /** PUT (a full resource) or PATCH (operations): the new fields, and what changing `active` means. */
  async update(
    provider: SsoProvider & { scim: ScimSettings },
    id: string,
    change: (current: ScimUserFields) => ScimUserFields,
  ): Promise<ScimUser> {
    const current = await this.get(provider, id);
    const fields = change(current);
    const at = this.deps.clock().toISOString();
    if (!(await this.deps.store.scim.updateUser(provider.id, id, fields, at)))
      throw new ScimError('ERR_SCIM_CONFLICT', `a SCIM user named ${fields.userName} already exists`, 'uniqueness');
    const updated = await this.get(provider, id);
    if (current.active && !updated.active) await this.deactivate(provider, updated);
    if (!current.active && updated.active) await this.record(provider, 'scim.reactivated', updated);
    return updated;
  }

  /** The provider removed the person from the application: their access stops as for a deactivation. */
  async remove(provider: SsoProvider & { scim: ScimSettings }, id: string): Promise<void> {
    const user = await this.get(provider, id);
    if (user.active) await this.deactivate(provider, { ...user, active: false });
    await this.deps.store.scim.deleteUser(provider.id, id, this.deps.clock().toISOString());
    await this.record(provider, 'scim.deleted', user);
  }

  /** Stops every identity the SCIM user names (none yet is fine: their first sign-in is refused). */
  private async deactivate(provider: SsoProvider & { scim: ScimSettings }, user: ScimUser): Promise<void> {
    const identities = await this.deps.store.scim.identitiesOf(user, scimMatchRule(provider, provider.scim));
    for (const identity of identities)
      await stopIdentity(
        { sso: this.deps.store.sso, store: this.deps.store, audit: this.deps.audit, clock: this.deps.clock },
        {
          provider,
          identity,
          action: 'scim.deactivated',
          details: { scimUser: user.id, userName: user.userName },
          alwaysAudit: true,
        },
      );
    if (identities.length === 0) await this.record(provider, 'scim.deactivated', user, { linkedIdentities: 0 });
  }

  private async record(
    provider: SsoProvider,
    action: 'scim.provisioned' | 'scim.reactivated' | 'scim.deleted' | 'scim.deactivated',
    user: ScimUser,
    extra: Record<string, string | number> = {},
  ): Promise<void> {
    await this.deps.audit.record({
      action,
      actor: { tokenId: null, userId: null },
      orgId: null,
      details: { provider: provider.id, scimUser: user.id, userName: user.userName, ...extra },
    });
  }
}

function positive(value: string | undefined, name: string, fallback: number, zeroOk = false): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,9}$/.test(value)) throw invalid(`${name} must be a whole number`);
  const n = Number(value);
  // RFC 7644 3.4.2.4: a startIndex below 1 counts as 1; a negative count as 0.
  if (n < 1 && !zeroOk) return 1;
  return n;
}
