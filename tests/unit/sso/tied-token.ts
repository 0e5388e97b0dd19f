/** A personal token of usr_1 (member of org_1) made through an SSO identity, as a CLI login approved from an SSO session makes it. */
import type { Clock } from '../../../src/server/clock';
import type { MetadataStore } from '../../../src/server/metadata/metadata-store';
import type { AuditLog } from '../../../src/server/services/audit-log';
import { TokenService } from '../../../src/server/services/token-service';
import type { SsoIdentityRef } from '../../../src/server/sso/sso-store';

/** Issues the token and answers its id. */
export async function issueTiedToken(
  store: MetadataStore,
  audit: AuditLog,
  clock: Clock,
  ssoIdentity: SsoIdentityRef,
): Promise<string> {
  const issued = await new TokenService(store, audit, clock).issue(
    {
      kind: 'personal',
      name: 'laptop',
      workspaceId: null,
      userId: 'usr_1',
      access: 'read',
      expiresIn: '30d',
      ssoIdentity,
    },
    { tokenId: null, userId: 'usr_1' },
    'org_1',
  );
  return issued.record.id;
}
