/**
 * The first administrator's one-time sign-in link: printed on the server's own terminal at start while
 * no administrator has a password, it opens a page that sets one and signs in. Short-lived, single-use,
 * and only its hash is kept (in memory: the process that printed it is the one that honours it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { equalSecrets } from '../../crypto/constant-time';
import { SealedCacheError } from '../../errors';
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { User } from '../metadata/records';
import type { WebAuthStore } from './web-auth-store';

export const FIRST_SIGN_IN_LIFETIME_MS = 30 * 60_000;
const CODE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const hashOf = (code: string): Buffer => createHash('sha256').update(code, 'utf8').digest();

interface PendingLink {
  codeHash: Buffer;
  userId: string;
  expiresAt: number;
}

export class FirstSignInLinks {
  private pending: PendingLink | undefined;

  constructor(
    private readonly deps: { store: Pick<MetadataStore, 'listUsers' | 'findUser'>; auth: WebAuthStore; clock: Clock },
  ) {}

  /** A fresh link for the first administrator without a password, or undefined when every one has a password. */
  async issueIfNeeded(): Promise<{ path: string; userName: string; expiresAt: Date } | undefined> {
    for (const user of await this.deps.store.listUsers()) {
      if (!user.serverAdmin || user.bot) continue;
      if ((await this.deps.auth.findPasswordHash(user.id)) !== undefined) return undefined;
      const code = randomBytes(32).toString('base64url');
      const expiresAt = this.deps.clock().getTime() + FIRST_SIGN_IN_LIFETIME_MS;
      this.pending = { codeHash: hashOf(code), userId: user.id, expiresAt };
      return { path: `/ui/first-sign-in/${code}`, userName: user.name, expiresAt: new Date(expiresAt) };
    }
    return undefined;
  }

  /** The administrator the link is for; refused when unknown, used, expired, or a password was set meanwhile. */
  async userFor(code: string): Promise<User> {
    const link = this.pending;
    const matches = link !== undefined && CODE_PATTERN.test(code) && equalSecrets(link.codeHash, hashOf(code));
    const user =
      matches && link.expiresAt > this.deps.clock().getTime() ? await this.deps.store.findUser(link.userId) : undefined;
    if (user === undefined || (await this.deps.auth.findPasswordHash(user.id)) !== undefined) {
      throw new SealedCacheError(
        'ERR_WEB_INVITE_INVALID',
        'this sign-in link is unknown, already used or expired; on the server machine, stop the server and set a password with `nx-sealed-cache user set-password <name> --data-dir <dir>`, or restart it for a new link while no password is set',
      );
    }
    return user;
  }

  /** Uses the link up; called before the password is set, so two tabs cannot both use it. */
  consume(code: string): void {
    if (this.pending !== undefined && CODE_PATTERN.test(code) && equalSecrets(this.pending.codeHash, hashOf(code)))
      this.pending = undefined;
    else throw new SealedCacheError('ERR_WEB_INVITE_INVALID', 'this sign-in link was just used');
  }
}
