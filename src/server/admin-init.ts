/**
 * `admin init` and `admin reset-token`: the first server administrator, and a new admin token when the
 * old one is lost, made directly in the data dir with the server stopped (see offline-store.ts), or in
 * PostgreSQL (`databaseUrl`), where replicas may be running.
 * `npm start` runs `admin init --if-needed` first.
 */
import { SealedCacheError } from '../errors';
import { type Clock, systemClock } from './clock';
import { newUserId } from './ids';
import type { MetadataStore } from './metadata/metadata-store';
import type { User } from './metadata/records';
import { type OfflineStoreOptions, withOfflineStore } from './offline-store';
import { AuditLog } from './services/audit-log';
import { TokenService } from './services/token-service';

export interface AdminInitResult {
  user: Pick<User, 'id' | 'name'>;
  /** The admin token, shown once. */
  token: string;
  tokenId: string;
}

export interface AdminResetResult extends AdminInitResult {
  /** Ids of the user's earlier admin tokens, revoked because the lost one may be in someone else's hands. */
  revokedTokenIds: string[];
}

const ADMIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export async function initialiseAdmin(options: {
  dataDir: string;
  /** PostgreSQL instead of the data dir's embedded file; replicas may be running meanwhile. */
  databaseUrl?: string;
  name?: string;
  clock?: Clock;
  onMigrated?: OfflineStoreOptions['onMigrated'];
}): Promise<AdminInitResult> {
  const clock = options.clock ?? systemClock;
  const name = options.name ?? 'admin';
  if (!ADMIN_NAME.test(name)) {
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      'the admin name must be letters, digits, ".", "_" or "-" (at most 100)',
    );
  }
  const where = options.databaseUrl === undefined ? `the data directory ${options.dataDir}` : 'the metadata database';
  const offline: OfflineStoreOptions = {
    dataDir: options.dataDir,
    databaseUrl: options.databaseUrl,
    command: 'admin init',
    create: true,
    onMigrated: options.onMigrated,
  };
  return withOfflineStore(offline, async (store) => {
    if (await store.hasServerAdmin()) {
      throw new SealedCacheError(
        'ERR_ADMIN_ALREADY_INITIALISED',
        `${where} already has an administrator; create more admin tokens with \`token create --kind admin\`, or recover a lost one with \`admin reset-token --data-dir\``,
      );
    }
    const user: User = {
      id: newUserId(),
      name,
      bot: false,
      serverAdmin: true,
      ownerOrgId: null,
      createdAt: clock().toISOString(),
    };
    if ((await store.insertUser(user)) === 'exists') {
      throw new SealedCacheError('ERR_USER_EXISTS', `a user named "${name}" already exists; pick another --name`);
    }
    const audit = new AuditLog(store, clock);
    const issued = await issueAdminToken(store, audit, clock, user, 'initial admin token');
    await audit.record({
      action: 'admin.initialised',
      actor: { tokenId: null, userId: user.id },
      targetId: user.id,
      details: { name },
    });
    return { user: { id: user.id, name: user.name }, token: issued.token, tokenId: issued.tokenId };
  });
}

/** A new admin token for a server administrator; their other admin tokens are revoked. */
export async function resetAdminToken(options: {
  dataDir: string;
  name?: string;
  clock?: Clock;
  onMigrated?: OfflineStoreOptions['onMigrated'];
}): Promise<AdminResetResult> {
  const clock = options.clock ?? systemClock;
  const offline = { dataDir: options.dataDir, command: 'admin reset-token', onMigrated: options.onMigrated };
  return withOfflineStore(offline, async (store) => {
    const user = await pickAdmin(store, options.name);
    const audit = new AuditLog(store, clock);
    const tokens = new TokenService(store, audit, clock);
    const actor = { tokenId: null, userId: user.id };
    const revokedTokenIds: string[] = [];
    for (const token of await store.listTokens({ userId: user.id })) {
      if (token.kind !== 'admin' || token.revokedAt !== null) continue;
      await tokens.revoke(token, actor, null);
      revokedTokenIds.push(token.id);
    }
    const issued = await issueAdminToken(store, audit, clock, user, 'admin token (reset on the server)');
    await audit.record({
      action: 'admin.token-reset',
      actor,
      targetId: user.id,
      details: { via: 'server-cli', revoked: revokedTokenIds.length },
    });
    return { user: { id: user.id, name: user.name }, token: issued.token, tokenId: issued.tokenId, revokedTokenIds };
  });
}

/** The named server administrator, or the only one when no name is given. */
async function pickAdmin(store: MetadataStore, name: string | undefined): Promise<User> {
  if (name !== undefined) {
    const user = await store.findUser(name);
    if (user === undefined || !user.serverAdmin || user.bot)
      throw new SealedCacheError('ERR_USER_NOT_FOUND', `no server administrator named "${name}"`);
    return user;
  }
  const admins = (await store.listUsers()).filter((u) => u.serverAdmin && !u.bot);
  if (admins.length === 0)
    throw new SealedCacheError(
      'ERR_USER_NOT_FOUND',
      'this data directory has no administrator yet; run `admin init --data-dir` instead',
    );
  if (admins.length > 1)
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `this data directory has ${admins.length} administrators (${admins.map((u) => u.name).join(', ')}); say which with --name`,
    );
  return admins[0];
}

async function issueAdminToken(
  store: MetadataStore,
  audit: AuditLog,
  clock: Clock,
  user: User,
  name: string,
): Promise<{ token: string; tokenId: string }> {
  const issued = await new TokenService(store, audit, clock).issue(
    { kind: 'admin', name, workspaceId: null, userId: user.id, access: null, expiresIn: 'never' },
    { tokenId: null, userId: user.id },
    null,
  );
  return { token: issued.secret, tokenId: issued.record.id };
}
