/**
 * `user set-password --data-dir`: a server administrator sets or resets a password on the server's own
 * machine, with the server stopped (the running server holds the data dir's lock). This is the only way
 * to set a password without knowing the current one.
 */
import { SealedCacheError } from '../errors';
import { checkPasswordStrength, hashPassword } from './auth/passwords';
import { type Clock, systemClock } from './clock';
import type { MetadataStore } from './metadata/metadata-store';
import { withOfflineStore } from './offline-store';
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
  return withOfflineStore({ dataDir: options.dataDir, command: 'user set-password --data-dir' }, (store) =>
    setPasswordInStore(store, options.user, options.password, options.clock),
  );
}
