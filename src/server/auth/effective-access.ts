/**
 * The permission model in one pure function: who may read or write a workspace. Kept free of I/O
 * so the whole matrix is easy to test and to read.
 */
import type { ErrorCode } from '../../errors';
import type { AccessLevel } from '../../protocol';
import type { TokenAccess } from '../metadata/records';

export interface Access {
  read: boolean;
  write: boolean;
  /** Why reading is denied, when it is. */
  denyCode?: ErrorCode;
  denyReason?: string;
}

export type AccessInput =
  | { kind: 'anonymous'; anonymousAccess: AccessLevel }
  | { kind: 'ci'; tokenAccess: TokenAccess }
  | {
      kind: 'personal';
      tokenAccess: TokenAccess;
      orgPublic: boolean;
      /** The user's membership in the workspace's organisation, if any. */
      membership: { override: AccessLevel | undefined; memberDefaultAccess: TokenAccess } | undefined;
    };

const RANK: Record<AccessLevel, number> = { none: 0, read: 1, 'read-write': 2 };

function levelToAccess(level: AccessLevel): Access {
  return { read: RANK[level] >= 1, write: RANK[level] >= 2 };
}

function minLevel(a: AccessLevel, b: AccessLevel): AccessLevel {
  return RANK[a] <= RANK[b] ? a : b;
}

export function computeAccess(input: AccessInput): Access {
  switch (input.kind) {
    case 'anonymous': {
      const access = levelToAccess(input.anonymousAccess);
      return access.read
        ? access
        : {
            ...access,
            denyCode: 'ERR_AUTH_ANONYMOUS_DENIED',
            // Read by Nx's own client (it shows a 401's text), by the plugin's summary and by the CLI alike.
            denyReason:
              'this workspace does not allow anonymous access; give a token: `nx-sealed-cache login` or ' +
              "NX_SEALED_CACHE_ACCESS_TOKEN with the plugin or runner, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN with Nx's own client",
          };
    }
    case 'ci':
      return levelToAccess(input.tokenAccess);
    case 'personal': {
      if (input.membership === undefined) {
        if (input.orgPublic) return levelToAccess(minLevel('read', input.tokenAccess));
        return {
          read: false,
          write: false,
          denyCode: 'ERR_AUTH_NOT_MEMBER',
          denyReason: "the token's user is not a member of this workspace's organisation",
        };
      }
      const granted = input.membership.override ?? input.membership.memberDefaultAccess;
      const access = levelToAccess(minLevel(granted, input.tokenAccess));
      return access.read
        ? access
        : {
            ...access,
            denyCode: 'ERR_AUTH_READ_DENIED',
            denyReason: "the token's user has no access to this workspace",
          };
    }
  }
}
