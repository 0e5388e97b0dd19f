import type { Migration, MigrationProvider } from 'kysely';
import { initialSchema } from './001-initial-schema';
import { writeTiers } from './002-write-tiers';
import { operations } from './003-operations';
import { webSignIn } from './004-web-sign-in';
import { tenancy } from './005-tenancy';
import { loginRequestOrigin } from './006-login-request-origin';
import { sharedSignInThrottle } from './007-shared-sign-in-throttle';
import { sharedFormNonces } from './008-shared-form-nonces';
import { ciIdentity } from './009-ci-identity';
import { sso } from './010-sso';
import { trustPolicyCreator } from './011-trust-policy-creator';
import { ssoIdentityRecheck } from './012-sso-identity-recheck';
import { scim } from './013-scim';
import { runReports } from './014-run-reports';
import { sharedLimits } from './015-shared-limits';
import { runFailedTasks } from './016-run-failed-tasks';

/** The migration a new database starts with: an open that applies it created the schema, not upgraded it. */
export const FIRST_MIGRATION = '001-initial-schema';

/** Versioned migrations, in code so the package needs no migration files on disk. Append only. */
export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return {
      [FIRST_MIGRATION]: initialSchema,
      '002-write-tiers': writeTiers,
      '003-operations': operations,
      '004-web-sign-in': webSignIn,
      '005-tenancy': tenancy,
      '006-login-request-origin': loginRequestOrigin,
      '007-shared-sign-in-throttle': sharedSignInThrottle,
      '008-shared-form-nonces': sharedFormNonces,
      '009-ci-identity': ciIdentity,
      '010-sso': sso,
      '011-trust-policy-creator': trustPolicyCreator,
      '012-sso-identity-recheck': ssoIdentityRecheck,
      '013-scim': scim,
      '014-run-reports': runReports,
      '015-shared-limits': sharedLimits,
      '016-run-failed-tasks': runFailedTasks,
    };
  },
};
