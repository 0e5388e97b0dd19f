/** Sign-in and sign-out, invite acceptance, and changing one's own password. */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isSealedCacheError, SealedCacheError } from '../../../errors';
import { csrfTokenFor, csrfTokenMatches, DEFAULT_SESSION_ABSOLUTE_MS, SESSION_COOKIE } from '../../auth/sessions';
import { checkPasswordStrength } from '../../auth/passwords';
import type { User } from '../../metadata/records';
import { accountPage, firstSignInPage, invitePage, signInPage } from '../../web/pages/sign-in-pages';
import { pagePermit } from '../../auth/route-policy';
import {
  clearCookie,
  clientAddress,
  formField,
  requireSameOrigin,
  requireViewer,
  setSessionCookie,
} from '../../web/web-guards';
import { Name, parseInput } from '../../input/request-input';
import type { WebRouteDeps } from './web-routes';

/** Before a session exists, forms are bound to this short-lived random cookie instead. */
const PRE_SESSION_COOKIE = 'nxsc_signin';
const PRE_SESSION_MAX_AGE_S = 3600;
const PRE_SESSION_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Only local paths: an absolute or protocol-relative `next` would be an open redirect. */
export function safeNext(next: string | undefined): string {
  return next !== undefined && /^\/(ui(\/[A-Za-z0-9._~%/?&=+-]*)?)?$/.test(next) && !next.startsWith('//')
    ? next
    : '/ui/tokens';
}

export function preSessionId(request: FastifyRequest, reply: FastifyReply): string {
  const existing = request.cookies[PRE_SESSION_COOKIE];
  if (existing !== undefined && PRE_SESSION_PATTERN.test(existing)) return existing;
  const fresh = randomBytes(32).toString('base64url');
  setSessionCookie(request, reply, PRE_SESSION_COOKIE, fresh, PRE_SESSION_MAX_AGE_S);
  return fresh;
}

function requirePreSessionPost(request: FastifyRequest): void {
  requireSameOrigin(request);
  const id = request.cookies[PRE_SESSION_COOKIE];
  if (id === undefined || !csrfTokenMatches(id, formField(request, 'csrf'))) {
    throw new SealedCacheError(
      'ERR_WEB_CSRF_FAILED',
      'the form has expired or cookies are blocked; reload the page and try again',
    );
  }
}

export async function webSignInRoutes(app: FastifyInstance, { web }: WebRouteDeps): Promise<void> {
  const startSession = async (request: FastifyRequest, reply: FastifyReply, user: User): Promise<void> => {
    const { sessionId } = await web.sessions.create(user.id);
    setSessionCookie(request, reply, SESSION_COOKIE, sessionId, DEFAULT_SESSION_ABSOLUTE_MS / 1000);
    clearCookie(request, reply, PRE_SESSION_COOKIE);
  };

  app.get('/ui/sign-in', pagePermit('web.public'), async (request, reply) => {
    const next = safeNext((request.query as Record<string, string | undefined>).next);
    if (request.webViewer !== null) return reply.redirect(next, 303);
    const expired = (request.query as Record<string, string | undefined>).signedOut;
    const notice =
      expired === 'password'
        ? { kind: 'ok' as const, text: 'Password changed. Sign in again with the new password.' }
        : undefined;
    return reply
      .type('text/html; charset=utf-8')
      .send(
        signInPage({ csrf: csrfTokenFor(preSessionId(request, reply)), next, notice, providers: web.sso.providers() }),
      );
  });

  app.post('/ui/sign-in', pagePermit('web.public'), async (request, reply) => {
    requirePreSessionPost(request);
    const name = formField(request, 'name') ?? '';
    const next = safeNext(formField(request, 'next'));
    try {
      const user = await web.accounts.signIn(name, formField(request, 'password') ?? '', clientAddress(request));
      await startSession(request, reply, user);
      return reply.redirect(next, 303);
    } catch (err) {
      if (!isSealedCacheError(err, 'ERR_WEB_SIGNIN_FAILED') && !isSealedCacheError(err, 'ERR_AUTH_RATE_LIMITED'))
        throw err;
      const csrf = csrfTokenFor(preSessionId(request, reply));
      return reply
        .code(err.status)
        .type('text/html; charset=utf-8')
        .send(
          signInPage({
            csrf,
            next,
            name,
            providers: web.sso.providers(),
            notice: { kind: 'error', text: `${err.message[0].toUpperCase()}${err.message.slice(1)}.` },
          }),
        );
    }
  });

  app.post('/ui/sign-out', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    await web.sessions.end(viewer.sessionId);
    clearCookie(request, reply, SESSION_COOKIE);
    return reply.redirect('/ui/sign-in', 303);
  });

  app.get('/ui/invite/:code', pagePermit('web.public'), async (request, reply) => {
    const { code } = request.params as { code: string };
    const { invite, org } = await web.accounts.findUsableInvite(code);
    return reply
      .type('text/html; charset=utf-8')
      .send(
        invitePage({ csrf: csrfTokenFor(preSessionId(request, reply)), code, orgName: org.name, role: invite.role }),
      );
  });

  app.post('/ui/invite/:code', pagePermit('web.public'), async (request, reply) => {
    requirePreSessionPost(request);
    const { code } = request.params as { code: string };
    const rawName = formField(request, 'name') ?? '';
    try {
      const name = parseInput(Name, rawName, 'user name');
      const user = await web.accounts.acceptInvite(code, name, formField(request, 'password') ?? '');
      await startSession(request, reply, user);
      return reply.redirect('/ui/tokens', 303);
    } catch (err) {
      if (
        !isSealedCacheError(err) ||
        !['ERR_INPUT_INVALID', 'ERR_USER_EXISTS', 'ERR_WEB_PASSWORD_WEAK'].includes(err.code)
      )
        throw err;
      const { invite, org } = await web.accounts.findUsableInvite(code);
      const csrf = csrfTokenFor(preSessionId(request, reply));
      return reply
        .code(err.status)
        .type('text/html; charset=utf-8')
        .send(
          invitePage({
            csrf,
            code,
            orgName: org.name,
            role: invite.role,
            name: rawName,
            notice: { kind: 'error', text: err.message },
          }),
        );
    }
  });

  // The link is the credential (256 random bits, single use, 30 minutes), like an invite link.
  app.get('/ui/first-sign-in/:code', pagePermit('web.public'), async (request, reply) => {
    const { code } = request.params as { code: string };
    const user = await web.firstSignIn.userFor(code);
    return reply
      .type('text/html; charset=utf-8')
      .send(firstSignInPage({ csrf: csrfTokenFor(preSessionId(request, reply)), code, userName: user.name }));
  });

  app.post('/ui/first-sign-in/:code', pagePermit('web.public'), async (request, reply) => {
    requirePreSessionPost(request);
    const { code } = request.params as { code: string };
    const user = await web.firstSignIn.userFor(code);
    const password = formField(request, 'password') ?? '';
    try {
      checkPasswordStrength(password);
    } catch (err) {
      if (!isSealedCacheError(err, 'ERR_WEB_PASSWORD_WEAK')) throw err;
      const csrf = csrfTokenFor(preSessionId(request, reply));
      return reply
        .code(400)
        .type('text/html; charset=utf-8')
        .send(firstSignInPage({ csrf, code, userName: user.name, notice: { kind: 'error', text: err.message } }));
    }
    web.firstSignIn.consume(code);
    await web.accounts.setPassword(user, password, { tokenId: null, userId: user.id });
    await startSession(request, reply, user);
    return reply.redirect('/ui/orgs', 303);
  });

  app.get('/ui/account', pagePermit('session.self'), async (request, reply) =>
    reply.type('text/html; charset=utf-8').send(accountPage(requireViewer(request))),
  );

  app.post('/ui/account/password', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    try {
      // Counted by the sign-in throttle, so a stolen session cannot guess the password faster than the sign-in page allows.
      await web.accounts.verifyCurrentPassword(
        viewer.user,
        formField(request, 'current') ?? '',
        clientAddress(request),
      );
    } catch (err) {
      if (isSealedCacheError(err, 'ERR_WEB_SIGNIN_FAILED')) {
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send(accountPage(viewer, { kind: 'error', text: 'The current password is wrong; nothing was changed.' }));
      }
      if (!isSealedCacheError(err, 'ERR_AUTH_RATE_LIMITED')) throw err;
      return reply
        .code(429)
        .type('text/html; charset=utf-8')
        .send(accountPage(viewer, { kind: 'error', text: `${err.message}; nothing was changed.` }));
    }
    try {
      await web.accounts.setPassword(viewer.user, formField(request, 'password') ?? '', {
        tokenId: null,
        userId: viewer.user.id,
      });
    } catch (err) {
      if (!isSealedCacheError(err, 'ERR_WEB_PASSWORD_WEAK')) throw err;
      return reply
        .code(400)
        .type('text/html; charset=utf-8')
        .send(accountPage(viewer, { kind: 'error', text: err.message }));
    }
    clearCookie(request, reply, SESSION_COOKIE);
    return reply.redirect('/ui/sign-in?signedOut=password', 303);
  });
}
