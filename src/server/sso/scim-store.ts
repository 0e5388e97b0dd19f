/**
 * Storage for SCIM deprovisioning (migration 013): the users each configured provider pushed to
 * `/scim/v2/Users`, and the lookups that tie such a user to the SSO identities it names. A SCIM user
 * is no account and grants nothing; it only records what the provider says about a person, so that
 * "inactive" can stop that person's identity. The `scim` part of MetadataStore, on its connection.
 */
import type { Kysely } from 'kysely';
import type { MetadataDatabase, ScimUsersTable } from '../metadata/schema';
import { LINKED_IDENTITY_COLUMNS, linkedIdentityOf, type LinkedIdentity } from './sso-store';

export interface ScimUser {
  id: string;
  providerId: string;
  userName: string;
  externalId: string | null;
  emails: string[];
  active: boolean;
  createdAt: string;
  updatedAt: string;
  deactivatedAt: string | null;
}

export type ScimUserFields = Pick<ScimUser, 'userName' | 'externalId' | 'emails' | 'active'>;

/** Which attribute of a SCIM user names the OIDC identity (the provider's configuration says which). */
export interface ScimMatchRule {
  /** The OIDC issuer the provider signs in with: identities are rows `oidc:<issuer>`. */
  providerKey: string;
  /** `sub` equals the SCIM `externalId` (Okta, Keycloak) or the `userName`. */
  subjectFrom: 'externalId' | 'userName';
  /** Also match the verified email of the identity's last sign-in against userName and emails (Entra ID). */
  matchEmail: boolean;
}

const fromRow = (row: ScimUsersTable): ScimUser => ({
  id: row.id,
  providerId: row.provider_id,
  userName: row.user_name,
  externalId: row.external_id,
  emails: JSON.parse(row.emails) as string[],
  active: row.active === 1,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  deactivatedAt: row.deactivated_at,
});

export class ScimStore {
  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  /** False when the provider already has a user of that userName (SCIM's `uniqueness`). */
  async insertUser(user: ScimUser): Promise<boolean> {
    const taken = await this.findByUserName(user.providerId, user.userName);
    if (taken !== undefined) return false;
    try {
      await this.db
        .insertInto('scim_users')
        .values({
          id: user.id,
          provider_id: user.providerId,
          user_name: user.userName,
          user_name_key: user.userName.toLowerCase(),
          external_id: user.externalId,
          emails: JSON.stringify(user.emails),
          active: user.active ? 1 : 0,
          created_at: user.createdAt,
          updated_at: user.updatedAt,
          deactivated_at: user.deactivatedAt,
          deleted_at: null,
        })
        .execute();
      return true;
    } catch (err) {
      // Two replicas racing on one userName: the unique index lets one in.
      if ((await this.findByUserName(user.providerId, user.userName)) !== undefined) return false;
      throw err;
    }
  }

  async findUser(providerId: string, id: string): Promise<ScimUser | undefined> {
    const row = await this.db
      .selectFrom('scim_users')
      .selectAll()
      .where('provider_id', '=', providerId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row && fromRow(row);
  }

  async findByUserName(providerId: string, userName: string): Promise<ScimUser | undefined> {
    const row = await this.db
      .selectFrom('scim_users')
      .selectAll()
      .where('provider_id', '=', providerId)
      .where('user_name_key', '=', userName.toLowerCase())
      .executeTakeFirst();
    return row && fromRow(row);
  }

  /** One page of the provider's users, optionally only those whose attribute equals `value`. */
  async listUsers(
    providerId: string,
    filter: { attribute: 'userName' | 'externalId'; value: string } | undefined,
    offset: number,
    limit: number,
  ): Promise<{ total: number; users: ScimUser[] }> {
    let query = this.db.selectFrom('scim_users').where('provider_id', '=', providerId).where('deleted_at', 'is', null);
    if (filter?.attribute === 'userName') query = query.where('user_name_key', '=', filter.value.toLowerCase());
    if (filter?.attribute === 'externalId') query = query.where('external_id', '=', filter.value);
    const total = await query.select((eb) => eb.fn.countAll<number | string | bigint>().as('n')).executeTakeFirst();
    const rows =
      limit === 0
        ? []
        : await query.selectAll().orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute();
    return { total: Number(total?.n ?? 0), users: rows.map(fromRow) };
  }

  /** Replaces the provider-owned fields; false when the new userName belongs to another of its users. */
  async updateUser(providerId: string, id: string, fields: ScimUserFields, at: string): Promise<boolean> {
    const other = await this.findByUserName(providerId, fields.userName);
    if (other !== undefined && other.id !== id) return false;
    const current = await this.findUser(providerId, id);
    await this.db
      .updateTable('scim_users')
      .set({
        user_name: fields.userName,
        user_name_key: fields.userName.toLowerCase(),
        external_id: fields.externalId,
        emails: JSON.stringify(fields.emails),
        active: fields.active ? 1 : 0,
        updated_at: at,
        deactivated_at: fields.active ? null : (current?.deactivatedAt ?? at),
      })
      .where('provider_id', '=', providerId)
      .where('id', '=', id)
      .execute();
    return true;
  }

  /** Kept as an inactive, unlisted row (its userName freed), so sign-ins of the person stay refused. */
  async deleteUser(providerId: string, id: string, at: string): Promise<void> {
    await this.db
      .updateTable('scim_users')
      .set((eb) => ({
        active: 0,
        deleted_at: at,
        updated_at: at,
        deactivated_at: eb.fn.coalesce('deactivated_at', eb.val(at)),
        user_name_key: `deleted:${id}`,
      }))
      .where('provider_id', '=', providerId)
      .where('id', '=', id)
      .execute();
  }

  /** The linked identities a SCIM user names under the rule (usually one; none before a first sign-in). */
  async identitiesOf(user: ScimUserFields, rule: ScimMatchRule): Promise<LinkedIdentity[]> {
    const subject = rule.subjectFrom === 'externalId' ? user.externalId : user.userName;
    const addresses = rule.matchEmail
      ? [...new Set([user.userName, ...user.emails].filter((a) => a.includes('@')).map((a) => a.toLowerCase()))]
      : [];
    if ((subject === null || subject === '') && addresses.length === 0) return [];
    const rows = await this.db
      .selectFrom('identities')
      .select(LINKED_IDENTITY_COLUMNS)
      .where('provider', '=', rule.providerKey)
      .where((eb) =>
        eb.or([
          ...(subject === null || subject === '' ? [] : [eb('subject', '=', subject)]),
          ...(addresses.length === 0 ? [] : [eb('email', 'in', addresses)]),
        ]),
      )
      .orderBy('subject')
      .execute();
    return rows.map(linkedIdentityOf);
  }

  /**
   * Whether the provider deactivated the person behind this identity: a SCIM user of the provider that
   * names the identity (by the rule) and is inactive. Asked at every sign-in.
   */
  async deactivatedFor(
    providerId: string,
    rule: ScimMatchRule,
    identity: { subject: string; email: string | null },
  ): Promise<ScimUser | undefined> {
    const email = identity.email?.toLowerCase();
    const rows = await this.db
      .selectFrom('scim_users')
      .selectAll()
      .where('provider_id', '=', providerId)
      .where('active', '=', 0)
      .where((eb) =>
        eb.or([
          rule.subjectFrom === 'externalId'
            ? eb('external_id', '=', identity.subject)
            : eb('user_name', '=', identity.subject),
          ...(rule.matchEmail && email !== undefined ? [eb('user_name_key', '=', email)] : []),
        ]),
      )
      .execute();
    const direct = rows.at(0);
    if (direct !== undefined) return fromRow(direct);
    if (!rule.matchEmail || email === undefined) return undefined;
    // An address listed only among `emails`: a small scan of the provider's inactive users.
    const inactive = await this.db
      .selectFrom('scim_users')
      .selectAll()
      .where('provider_id', '=', providerId)
      .where('active', '=', 0)
      .execute();
    const byEmail = inactive.map(fromRow).find((u) => u.emails.some((a) => a.toLowerCase() === email));
    return byEmail;
  }
}
