/**
 * CLI login approved in the browser (device-code style). The CLI gets a request id, a short user
 * code and a secret device code; a signed-in user approves the user code in the page; the next poll
 * with the device code issues a fresh personal token, once. Nothing secret is stored in clear.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { SealedCacheError } from '../../errors';
import type { Clock } from '../clock';
import { randomBase62 } from '../ids';
import type { User, Workspace } from '../metadata/records';
import type { TokenService } from '../services/token-service';
import type { AuditLog } from '../services/audit-log';
import type { LoginRequestRecord, WebAuthStore } from './web-auth-store';

export const LOGIN_REQUEST_LIFETIME_MS = 10 * 60_000;
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

export type PollResult = { status: 'pending'; record: LoginRequestRecord } | { status: 'approved'; record: LoginRequestRecord; token: string; tokenId: string; user: User };

export interface LoginRequestDeps {
  auth: WebAuthStore;
  tokens: TokenService;
  audit: AuditLog;
  clock: Clock;
  findUser(id: string): Promise<User | undefined>;
}

export class LoginRequestService {
  constructor(private readonly deps: LoginRequestDeps) {}

  async start(hostname: string, workspace: Workspace | undefined): Promise<StartedLoginRequest> {
    const now = this.deps.clock();
    const deviceCode = randomBytes(32).toString('base64url');
    const record: LoginRequestRecord = {
      id: `lrq_${randomBase62(20)}`,
      userCode: newUserCode(),
      deviceCodeHash: hashDeviceCode(deviceCode).toString('hex'),
      hostname,
      workspaceId: workspace?.id ?? null,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + LOGIN_REQUEST_LIFETIME_MS).toISOString(),
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
    const record = USER_CODE_PATTERN.test(normalised) ? await this.deps.auth.findLoginRequestByUserCode(normalised) : undefined;
    if (record === undefined) throw new SealedCacheError('ERR_LOGIN_REQUEST_NOT_FOUND', 'no login request has this code; check the code your terminal shows');
    if (isDenied(record)) throw new SealedCacheError('ERR_LOGIN_REQUEST_DENIED', 'this login request was denied; run login again if you meant to log in');
    if (this.isExpired(record) || record.approvedAt !== null) throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'this login request expired or was already approved; run login again');
    return record;
  }

  async approve(userCode: string, user: User): Promise<LoginRequestRecord> {
    const record = await this.findPending(userCode);
    if (!(await this.deps.auth.approveLoginRequest(record.id, user.id, this.deps.clock().toISOString()))) {
      throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'this login request was already approved');
    }
    await this.deps.audit.record({ action: 'login.approved', actor: { tokenId: null, userId: user.id }, workspaceId: record.workspaceId, targetId: record.id, details: { hostname: record.hostname } });
    return record;
  }

  /** Refuses a pending request: the CLI's next poll fails with ERR_LOGIN_REQUEST_DENIED and no token is ever issued. */
  async deny(userCode: string, user: User): Promise<LoginRequestRecord> {
    const record = await this.findPending(userCode);
    if (!(await this.deps.auth.denyLoginRequest(record.id, this.deps.clock().toISOString()))) {
      throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'this login request was already approved or denied');
    }
    await this.deps.audit.record({ action: 'login.denied', actor: { tokenId: null, userId: user.id }, workspaceId: record.workspaceId, targetId: record.id, details: { hostname: record.hostname } });
    return record;
  }

  async poll(id: string, deviceCode: string): Promise<PollResult> {
    const record = LOGIN_REQUEST_ID_PATTERN.test(id) ? await this.deps.auth.findLoginRequest(id) : undefined;
    const given = hashDeviceCode(deviceCode);
    if (record === undefined || !timingSafeEqual(Buffer.from(record.deviceCodeHash, 'hex'), given)) {
      throw new SealedCacheError('ERR_LOGIN_REQUEST_NOT_FOUND', 'no such login request (or the polling code does not match)');
    }
    if (isDenied(record)) throw new SealedCacheError('ERR_LOGIN_REQUEST_DENIED', 'the login was denied in the browser; no token was issued. Run login again if you meant to log in');
    if (record.completedAt !== null || this.isExpired(record)) throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'this login request expired or was already used; run login again');
    if (record.approvedByUserId === null) return { status: 'pending', record };
    const user = await this.deps.findUser(record.approvedByUserId);
    if (user === undefined) throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'the approving user no longer exists; run login again');
    if (!(await this.deps.auth.completeLoginRequest(record.id, this.deps.clock().toISOString()))) {
      throw new SealedCacheError('ERR_LOGIN_REQUEST_EXPIRED', 'this login request was already used; run login again');
    }
    const issued = await this.deps.tokens.issue(
      { kind: 'personal', name: `login from ${record.hostname}`.slice(0, 100), workspaceId: record.workspaceId, userId: user.id, access: 'read-write', expiresIn: '1y' },
      { tokenId: null, userId: user.id },
      null,
    );
    await this.deps.auth.setLoginRequestToken(record.id, issued.record.id);
    return { status: 'approved', record, token: issued.secret, tokenId: issued.record.id, user };
  }

  private isExpired(record: LoginRequestRecord): boolean {
    return Date.parse(record.expiresAt) <= this.deps.clock().getTime();
  }
}
