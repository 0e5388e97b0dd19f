/**
 * Local accounts for the web page: sign-in with throttling, setting passwords (which signs the user
 * out everywhere), and one-time invites into an organisation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isSealedCacheError, SealedCacheError } from '../../errors';
import { checkPasswordStrength, hashPassword, needsRehash, verifyPassword } from '../auth/passwords';
import type { SessionService } from '../auth/sessions';
import type { Clock } from '../clock';
import { newUserId } from '../ids';
import type { MetadataStore } from '../metadata/metadata-store';
import type { MemberRole, Organisation, User } from '../metadata/records';
import type { AuditAction, AuditActor, AuditLog } from '../services/audit-log';
import { ACCOUNT_POLICY, ADDRESS_POLICY, type AttemptOutcome, SharedThrottle } from './sign-in-throttle';
import type { InviteRecord, WebAuthStore } from './web-auth-store';

export const INVITE_LIFETIME_MS = 7 * 86_400_000;
const hashCode = (code: string): string => createHash('sha256').update(code, 'utf8').digest('hex');

export interface AccountDeps {
  store: MetadataStore;
  auth: WebAuthStore;
  sessions: SessionService;
  audit: AuditLog;
  clock: Clock;
}

/** A new user's first membership, audited as the way they came in (`joined`) and as `member.added`. */
export async function enrolNewMember(
  deps: { store: MetadataStore; audit: AuditLog },
  org: Organisation,
  user: User,
  role: MemberRole,
  joined: { action: AuditAction; via: string; details: Record<string, unknown> },
): Promise<void> {
  await deps.store.insertMembership({ orgId: org.id, userId: user.id, role, createdAt: user.createdAt });
  const entry = { actor: { tokenId: null, userId: user.id }, orgId: org.id, targetId: user.id };
  await deps.audit.record({ ...entry, action: joined.action, details: { ...joined.details, role } });
  await deps.audit.record({ ...entry, action: 'member.added', details: { role, via: joined.via } });
}

export class AccountService {
  private readonly accounts: SharedThrottle;
  private readonly addresses: SharedThrottle;
  /** A real hash to verify against when the account does not exist, so both paths cost the same. */
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: AccountDeps) {
    this.accounts = new SharedThrottle('account', ACCOUNT_POLICY, deps.auth, deps.clock);
    this.addresses = new SharedThrottle('address', ADDRESS_POLICY, deps.auth, deps.clock);
  }

  /** The signed-in user, or ERR_WEB_SIGNIN_FAILED / ERR_AUTH_RATE_LIMITED that never say whether the account exists. */
  async signIn(name: string, password: string, address: string): Promise<User> {
    const accountKey = name.trim().toLowerCase();
    // Counted before the (slow) password check, so concurrent guesses cannot outrun the limit.
    const accountWait = await this.accounts.reserve(accountKey);
    const addressWait =
      accountWait > 0
        ? 0
        : await this.addresses.reserve(address).catch(async (err: unknown) => {
            await this.accounts.settle(accountKey, 'neutral');
            throw err;
          });
    if (accountWait > 0 || addressWait > 0) {
      if (accountWait === 0) await this.accounts.settle(accountKey, 'neutral');
      const waitMs = Math.max(accountWait, addressWait);
      throw new SealedCacheError(
        'ERR_AUTH_RATE_LIMITED',
        `too many failed sign-ins; try again in ${Math.ceil(waitMs / 60_000)} minute(s)`,
      );
    }
    let outcome: AttemptOutcome = 'neutral';
    try {
      const user = await this.deps.store.findUser(name.trim());
      const stored = user === undefined || user.bot ? undefined : await this.deps.auth.findPasswordHash(user.id);
      const ok = stored === undefined ? await this.burnCheck(password) : await verifyPassword(password, stored);
      if (!ok || user === undefined || stored === undefined) {
        outcome = 'failure';
        throw new SealedCacheError('ERR_WEB_SIGNIN_FAILED', 'the user name or password is wrong');
      }
      outcome = 'success';
      if (needsRehash(stored))
        await this.deps.auth.setPasswordHash(user.id, await hashPassword(password), this.deps.clock().toISOString());
      return user;
    } finally {
      // Both settle even if one write fails, so neither slot stays taken.
      await Promise.all([
        this.accounts.settle(accountKey, outcome),
        // A right password does not forgive an address its failures on other accounts.
        this.addresses.settle(address, outcome === 'failure' ? 'failure' : 'neutral'),
      ]);
    }
  }

  /** Proves a signed-in person knows their current password, counted by the sign-in throttle like any sign-in. */
  async verifyCurrentPassword(user: User, password: string, address: string): Promise<void> {
    try {
      const checked = await this.signIn(user.name, password, address);
      if (checked.id !== user.id)
        throw new SealedCacheError('ERR_WEB_SIGNIN_FAILED', 'the user name or password is wrong');
    } catch (err) {
      if (!isSealedCacheError(err, 'ERR_WEB_SIGNIN_FAILED')) throw err;
      const hint = 'or none is set: a server administrator sets the first one with `user set-password --data-dir`';
      throw new SealedCacheError(
        'ERR_WEB_SIGNIN_FAILED',
        `the current password is wrong (${hint}); nothing was changed`,
        { cause: err },
      );
    }
  }

  /** Sets or replaces a password and ends every session of that user. */
  async setPassword(user: User, password: string, actor: AuditActor): Promise<void> {
    if (user.bot)
      throw new SealedCacheError(
        'ERR_INPUT_INVALID',
        `${user.name} is a bot user; bots use machine tokens, not passwords`,
      );
    checkPasswordStrength(password);
    await this.deps.auth.setPasswordHash(user.id, await hashPassword(password), this.deps.clock().toISOString());
    await this.deps.sessions.endAllForUser(user.id);
    await this.deps.audit.record({ action: 'user.password-set', actor, targetId: user.id });
  }

  /** A one-time invite code for the organisation; only its hash is kept. */
  async createInvite(
    org: Organisation,
    role: MemberRole,
    actor: AuditActor,
  ): Promise<{ code: string; expiresAt: string }> {
    const code = randomBytes(24).toString('base64url');
    const now = this.deps.clock();
    const expiresAt = new Date(now.getTime() + INVITE_LIFETIME_MS).toISOString();
    await this.deps.auth.insertInvite({
      codeHash: hashCode(code),
      orgId: org.id,
      role,
      createdByUserId: actor.userId,
      createdAt: now.toISOString(),
      expiresAt,
      usedAt: null,
    });
    await this.deps.audit.record({ action: 'invite.created', actor, orgId: org.id, details: { role, expiresAt } });
    return { code, expiresAt };
  }

  async findUsableInvite(code: string): Promise<{ invite: InviteRecord; org: Organisation }> {
    const invite = /^[A-Za-z0-9_-]{32}$/.test(code) ? await this.deps.auth.findInvite(hashCode(code)) : undefined;
    const org = invite && (await this.deps.store.findOrganisation(invite.orgId));
    if (
      invite === undefined ||
      org === undefined ||
      invite.usedAt !== null ||
      Date.parse(invite.expiresAt) <= this.deps.clock().getTime()
    ) {
      throw new SealedCacheError(
        'ERR_WEB_INVITE_INVALID',
        'this invite link is unknown, already used or expired; ask an administrator for a new one',
      );
    }
    return { invite, org };
  }

  /** Creates the invited user with a password and membership; the invite is consumed first, so it works once. */
  async acceptInvite(code: string, name: string, password: string): Promise<User> {
    const { invite, org } = await this.findUsableInvite(code);
    checkPasswordStrength(password);
    const user: User = {
      id: newUserId(),
      name,
      bot: false,
      serverAdmin: false,
      ownerOrgId: null,
      createdAt: this.deps.clock().toISOString(),
    };
    if ((await this.deps.store.findUser(name)) !== undefined)
      throw new SealedCacheError('ERR_USER_EXISTS', `a user named "${name}" already exists; pick another name`);
    if (!(await this.deps.auth.markInviteUsed(invite.codeHash, user.id, user.createdAt))) {
      throw new SealedCacheError(
        'ERR_WEB_INVITE_INVALID',
        'this invite link was just used; ask an administrator for a new one',
      );
    }
    if ((await this.deps.store.insertUser(user)) === 'exists')
      throw new SealedCacheError('ERR_USER_EXISTS', `a user named "${name}" already exists`);
    await this.deps.auth.setPasswordHash(user.id, await hashPassword(password), user.createdAt);
    await enrolNewMember(this.deps, org, user, invite.role, { action: 'invite.accepted', via: 'invite', details: {} });
    return user;
  }

  private async burnCheck(password: string): Promise<false> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await verifyPassword(password, await this.dummyHash);
    return false;
  }
}
