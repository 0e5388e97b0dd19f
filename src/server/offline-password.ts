/**
 * `user set-password --data-dir`: a server administrator sets or resets a password on the server's own
 * machine, with the server stopped (the running server holds the data dir's lock). This is the only way
 * to set a password without knowing the current one.
 */
import { existsSync } from 'node:fs';
import { isSealedCacheError, SealedCacheError } from '../errors';
import { checkPasswordStrength, hashPassword } from './auth/passwords';
import { type Clock, systemClock } from './clock';
import { acquireDataDirLock, removeStaleSqliteLock } from './data-dir-lock';
import { dataDirLayout } from './data-dir';
import type { MetadataStore } from './metadata/metadata-store';
import { openSqliteMetadataStore } from './metadata/sqlite-metadata-store';
import { AuditLog } from './services/audit-log';

/** Sets the password in an open store and ends the user's sessions; shared with tests that run the server in-process. */
export async function setPasswordInStore(
  store: MetadataStore,
  userName: string,
  password: string,
  clock: Clock = systemClock,
): Promise<{ id: string; name: string }> {
  const user = await store.findUser(userName);
  if (user === undefined) throw new SealedCacheError('ERR_USER_NOT_FOUND', `no user "${userName}"`);
  if (user.bot)
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `${user.name} is a bot user; bots use machine tokens, not passwords`,
    );
  checkPasswordStrength(password);
  const auth = store.webAuth;
  await auth.setPasswordHash(user.id, await hashPassword(password), clock().toISOString());
  await auth.deleteUserSessions(user.id);
  await new AuditLog(store, clock).record({
    action: 'user.password-set',
    actor: { tokenId: null, userId: null },
    targetId: user.id,
    details: { via: 'server-cli' },
  });
  return { id: user.id, name: user.name };
}

export async function setPasswordOffline(options: {
  dataDir: string;
  user: string;
  password: string;
  clock?: Clock;
}): Promise<{ id: string; name: string }> {
  const layout = dataDirLayout(options.dataDir);
  if (!existsSync(layout.metadataFile))
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `${options.dataDir} is not a server data directory (no metadata database)`,
    );
  let lock;
  try {
    lock = acquireDataDirLock(layout.lockFile);
  } catch (err) {
    if (!isSealedCacheError(err, 'ERR_DATA_DIR_LOCKED')) throw err;
    throw new SealedCacheError(
      'ERR_DATA_DIR_LOCKED',
      `${err.message}: stop the server, run \`user set-password --data-dir\`, then start it again`,
      { cause: err },
    );
  }
  try {
    removeStaleSqliteLock(layout.metadataFile);
    const store = await openSqliteMetadataStore(layout.metadataFile);
    try {
      return await setPasswordInStore(store, options.user, options.password, options.clock);
    } finally {
      await store.close();
    }
  } finally {
    lock.release();
  }
}
