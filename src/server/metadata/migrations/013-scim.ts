import type { Kysely, Migration } from 'kysely';

/**
 * SCIM deprovisioning: the users an identity provider pushed (`/scim/v2/Users`), per configured
 * provider, with whether the provider still calls them active; and per linked SSO identity the verified
 * email of its last sign-in, so a provider whose SCIM ids are not the OIDC `sub` can be matched by
 * address when its configuration says so. Portable columns only.
 */
export const scim: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('scim_users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('provider_id', 'text', (c) => c.notNull())
      .addColumn('user_name', 'text', (c) => c.notNull())
      /** userName lower-cased: SCIM compares it case-insensitively, and it is unique per provider. */
      .addColumn('user_name_key', 'text', (c) => c.notNull())
      .addColumn('external_id', 'text')
      .addColumn('emails', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('deactivated_at', 'text')
      /** Removed by the provider (DELETE): kept, inactive and unlisted, so the person's sign-ins stay refused. */
      .addColumn('deleted_at', 'text')
      .execute();
    await db.schema
      .createIndex('scim_users_user_name')
      .on('scim_users')
      .columns(['provider_id', 'user_name_key'])
      .unique()
      .execute();
    await db.schema
      .createIndex('scim_users_external_id')
      .on('scim_users')
      .columns(['provider_id', 'external_id'])
      .execute();
    await db.schema.alterTable('identities').addColumn('email', 'text').execute();
  },
};
