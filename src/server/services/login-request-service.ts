/**
 * CLI login approved in the browser (device-code style). The CLI gets a request id, a short user
 * code and a secret device code; a signed-in member types the user code into the page, checks where
 * the request came from and approves; the next poll with the device code issues, once, a personal
 * token bound to the workspace asked for, with the member's access there and a short lifetime.
 * Nothing secret is stored in clear.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { equalSecrets } from '../../crypto/constant-time';
import { SealedCacheError } from '../../errors';
import type { Clock } from '../clock';
import { randomBase62 } from '../ids';
import type { MetadataStore } from '../metadata/metadata-store';
import type { TokenAccess, User, Workspace } from '../metadata/records';
import { computeAccess } from '../auth/effective-access';
import type { TokenService } from './token-service';
import type { AuditLog } from './audit-log';
import type { LoginRequestRecord, WebAuthStore } from '../web/web-auth-store';
import type { SsoIdentityRef, SsoStore } from '../sso/sso-store';

export const LOGIN_REQUEST_LIFETIME_MS = 10 * 60_000;
/** Tokens from a browser-approved login: shorter than a hand-made personal token, renewed by logging in again. */
export const LOGIN_TOKEN_LIFETIME = '30d';
/** No vowels or look-alikes, so a code cannot spell words or be misread. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_PATTERN = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
export const LOGIN_REQUEST_ID_PATTERN = /^lrq_[A-Za-z0-9]{20}$/;
const hashDeviceCode = (code: string): Buffer => createHash('sha256').update(code, 'utf8').digest();

function newUserCode(): string {
  const chars = Array.from({ length: 8 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]);
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

/** Users type codes in any case and with or without the dash. */
export function normaliseUserCode(text: string): string {
  const letters = text.toUpperCase().replace(/[^A-Z]/g, '');
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : text;
}

/** Denied = completed without approval (see WebAuthStore.denyLoginRequest). */
const isDenied = (record: LoginRequestRecord): boolean => record.completedAt !== null && record.approvedAt === null;

export interface StartedLoginRequest {
  record: LoginRequestRecord;
  /** Returned to the CLI once; only its hash is stored. */
  deviceCode: string;
}

export type PollResult =
  | { status: 'pending'; record: LoginRequestRecord }
  | { status: 'approved'; record: LoginRequestRecord; token: string; tokenId: string; user: User };

/** What the server saw of the caller that started a request, shown on the approval page. */
export interface RequestOrigin {
  clientAddress: string;
  userAgent: string | undefined;
}

export interface LoginRequestDeps {
  auth: WebAuthStore;
  tokens: TokenService;
  audit: AuditLog;
  clock: Clock;
  store: Pick<
    MetadataStore,
    'findUser' | 'findWorkspace' | 'findOrganisation' | 'findMembership' | 'findWorkspaceOverride'
  >;
  /** Where the approving session's SSO identity is kept until the token is issued (so it ends with the identity). */
  ssoLinks?: Pick<SsoStore, 'setLoginRequestIdentity' | 'loginRequestIdentity'>;
}

/** A pending request as the approving member may see it: the workspace it asks for and the access the token would get. */
export interface ApprovableRequest {
  record: LoginRequestRecord;
  workspace: Workspace;
  orgName: string;
  access: TokenAccess;
}

const USER_AGENT_MAX = 200;
/** Printable ASCII only, so a crafted user agent cannot pose as something else on the page. */
const cleanUserAgent = (text: string | undefined): string | null =>
  text === undefined || text === '' ? null : text.replace(/[^\x20-\x7e]/g, '?').slice(0, USER_AGENT_MAX);

export class LoginRequestService {
  constructor(private readonly deps: LoginRequestDeps) {}

  async start(hostname: string, workspace: Workspace, origin: RequestOrigin): Promise<StartedLoginRequest> {
    const now = this.deps.clock();
    const deviceCode = randomBytes(32).toString('base64url');
    const record: LoginRequestRecord = {
      id: `lrq_${randomBase62(20)}`,
      userCode: newUserCode(),
      deviceCodeHash: hashDeviceCode(deviceCode).toString('hex'),
      hostname,
      workspaceId: workspace.id,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + LOGIN_REQUEST_LIFETIME_MS).toISOString(),
      clientAddress: origin.clientAddress.slice(0, 100),
      userAgent: cleanUserAgent(origin.userAgent),
      approvedByUserId: null,
      approvedAt: null,
      completedAt: null,
      tokenId: null,
    };
    await this.deps.auth.insertLoginRequest(record);
    return { record, deviceCode };
  }

  /** A request the page may show for approval: known, unexpired, not yet approved. */
  async findPending(userCode: string): Promise<LoginRequestRecord> {
    const normalised = normaliseUserCode(userCode);
    const record = USER_CODE_PATTERN.test(normalised)
      ? await this.deps.auth.findLoginRequestByUserCode(normalised)
      : undefined;
    if (record === undefined)
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_NOT_FOUND',
        'no login request has this code; check the code your terminal shows',
      );
    if (isDenied(record))
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_DENIED',
        'this login request was denied; run login again if you meant to log in',
      );
    if (this.isExpired(record) || record.approvedAt !== null)
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_EXPIRED',
        'this login request expired or was already approved; run login again',
      );
    return record;
  }

  /**
   * A pending request the user may approve: it names a workspace the user can read. Anyone else is told
   * only that they have no access, never the workspace's or organisation's name.
   */
  async findApprovable(userCode: string, user: User): Promise<ApprovableRequest> {
    const record = await this.findPending(userCode);
    const workspace = record.workspaceId === null ? undefined : await this.deps.store.findWorkspace(record.workspaceId);
    if (workspace === undefined)
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_EXPIRED',
        'this login request names no workspace (it was started by an older CLI); run login again',
      );
    const access = await this.memberAccess(user, workspace);
    const org = await this.deps.store.findOrganisation(workspace.orgId);
    if (access === undefined || org === undefined) {
      throw new SealedCacheError(
        'ERR_AUTH_FORBIDDEN',
        user.serverAdmin
          ? 'you have no access to the workspace this login asks for, so you cannot approve it: as a server administrator, add yourself to its organisation first (`nx-sealed-cache member add --org <org> --user <you> --role admin`); organisations you create list you as their admin'
          : 'you have no access to the workspace this login asks for, so you cannot approve it; the person who ran login must approve it themselves',
      );
    }
    return { record, workspace, orgName: org.name, access };
  }

  async approve(userCode: string, user: User, ssoIdentity?: SsoIdentityRef): Promise<ApprovableRequest> {
    const approvable = await this.findApprovable(userCode, user);
    const { record } = approvable;
    // Kept before the approval, so no poll can issue the token untied from the identity.
    if (ssoIdentity !== undefined) await this.deps.ssoLinks?.setLoginRequestIdentity(record.id, ssoIdentity);
    if (!(await this.deps.auth.approveLoginRequest(record.id, user.id, this.deps.clock().toISOString()))) {
      throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'this login request was already approved');
    }
    await this.deps.audit.record({
      action: 'login.approved',
      actor: { tokenId: null, userId: user.id },
      orgId: approvable.workspace.orgId,
      workspaceId: record.workspaceId,
      targetId: record.id,
      details: { hostname: record.hostname, clientAddress: record.clientAddress, access: approvable.access },
    });
    return approvable;
  }

  /** The user's own access to the workspace, as the cache would grant it (never wider); undefined when none. */
  private async memberAccess(user: User, workspace: Workspace): Promise<TokenAccess | undefined> {
    const org = await this.deps.store.findOrganisation(workspace.orgId);
    if (org === undefined || user.bot) return undefined;
    const membership = await this.deps.store.findMembership(org.id, user.id);
    const override = membership && (await this.deps.store.findWorkspaceOverride(workspace.id, user.id));
    const access = computeAccess({
      kind: 'personal',
      tokenAccess: 'read-write',
      orgPublic: org.public,
      membership: membership && { override: override?.access, memberDefaultAccess: workspace.memberDefaultAccess },
    });
    return access.write ? 'read-write' : access.read ? 'read' : undefined;
  }

  /** Refuses a pending request: the CLI's next poll fails with ERR_LOGIN_REQUEST_DENIED and no token is ever issued. */
  async deny(userCode: string, user: User): Promise<LoginRequestRecord> {
    const record = await this.findPending(userCode);
    if (!(await this.deps.auth.denyLoginRequest(record.id, this.deps.clock().toISOString()))) {
      throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'this login request was already approved or denied');
    }
    // The organisation's log shows refusals too, so its admins see every CLI login, not only approved ones.
    const workspace = record.workspaceId === null ? undefined : await this.deps.store.findWorkspace(record.workspaceId);
    await this.deps.audit.record({
      action: 'login.denied',
      actor: { tokenId: null, userId: user.id },
      orgId: workspace?.orgId ?? null,
      workspaceId: record.workspaceId,
      targetId: record.id,
      details: { hostname: record.hostname },
    });
    return record;
  }

  async poll(id: string, deviceCode: string): Promise<PollResult> {
    const record = LOGIN_REQUEST_ID_PATTERN.test(id) ? await this.deps.auth.findLoginRequest(id) : undefined;
    const given = hashDeviceCode(deviceCode);
    if (record === undefined || !equalSecrets(Buffer.from(record.deviceCodeHash, 'hex'), given)) {
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_NOT_FOUND',
        'no such login request (or the polling code does not match)',
      );
    }
    if (isDenied(record))
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_DENIED',
        'the login was denied in the browser; no token was issued. Run login again if you meant to log in',
      );
    if (record.completedAt !== null || this.isExpired(record))
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_EXPIRED',
        'this login request expired or was already used; run login again',
      );
    if (record.approvedByUserId === null) return { status: 'pending', record };
    const user = await this.deps.store.findUser(record.approvedByUserId);
    const workspace = record.workspaceId === null ? undefined : await this.deps.store.findWorkspace(record.workspaceId);
    if (user === undefined || workspace === undefined)
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_EXPIRED',
        'the approving user or the workspace no longer exists; run login again',
      );
    // Decided again now: access taken away since the approval is not handed out.
    const access = await this.memberAccess(user, workspace);
    if (access === undefined)
      throw new SealedCacheError(
        'ERR_LOGIN_REQUEST_DENIED',
        `${user.name} has no access to workspace ${workspace.id} any more; no token was issued`,
      );
    if (!(await this.deps.auth.completeLoginRequest(record.id, this.deps.clock().toISOString()))) {
      throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'this login request was already used; run login again');
    }
    const issued = await this.deps.tokens.issue(
      {
        kind: 'personal',
        name: `login from ${record.hostname}`.slice(0, 100),
        workspaceId: workspace.id,
        userId: user.id,
        access,
        expiresIn: LOGIN_TOKEN_LIFETIME,
        ssoIdentity: await this.deps.ssoLinks?.loginRequestIdentity(record.id),
      },
      { tokenId: null, userId: user.id },
      workspace.orgId,
      { loginRequest: record.id },
    );
    await this.deps.auth.setLoginRequestToken(record.id, issued.record.id);
    return { status: 'approved', record, token: issued.secret, tokenId: issued.record.id, user };
  }

  private isExpired(record: LoginRequestRecord): boolean {
    return Date.parse(record.expiresAt) <= this.deps.clock().getTime();
  }
}
