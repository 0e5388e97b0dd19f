/**
 * Sign-in through an identity provider (OIDC authorization code with PKCE): the start link on the
 * sign-in page and the provider's callback. The attempt is bound to a Lax cookie of its own, because
 * the callback arrives as a cross-site navigation that never carries the Strict session cookies.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest, FastifyInstance } from 'fastify';
import { isSealedCacheError } from '../../../errors';
import { csrfTokenFor, DEFAULT_SESSION_ABSOLUTE_MS, SESSION_COOKIE } from '../../auth/sessions';
import { pagePermit } from '../../auth/route-policy';
import { continuePage, signInPage } from '../../web/pages/sign-in-pages';
import { isSecureRequest, setSessionCookie } from '../../web/web-guards';
import { SSO_ATTEMPT_LIFETIME_MS } from '../../sso/sso-sign-in';
import type { WebRouteDeps } from './web-routes';
import { preSessionId, safeNext } from './web-sign-in';

const SSO_COOKIE = 'nxsc_sso';
const SSO_COOKIE_PATH = '/ui/sign-in/sso';
const SSO_COOKIE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function ssoBrowserId(request: FastifyRequest, reply: FastifyReply): string {
  const existing = request.cookies[SSO_COOKIE];
  if (existing !== undefined && SSO_COOKIE_PATTERN.test(existing)) return existing;
  const fresh = randomBytes(32).toString('base64url');
  reply.setCookie(SSO_COOKIE, fresh, {
    path: SSO_COOKIE_PATH,
    httpOnly: true,
    sameSite: 'lax',
    secure: isSecureRequest(request),
    maxAge: SSO_ATTEMPT_LIFETIME_MS / 1000,
  });
  return fresh;
}

export async function webSsoRoutes(app: FastifyInstance, { web }: WebRouteDeps): Promise<void> {
  const refusedPage = (request: FastifyRequest, reply: FastifyReply, status: number, text: string) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(
        signInPage({
          csrf: csrfTokenFor(preSessionId(request, reply)),
          next: '/ui/tokens',
          providers: web.sso.providers(),
          notice: { kind: 'error', text: `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}.` },
        }),
      );

  app.get('/ui/sign-in/sso/:provider', pagePermit('web.public'), async (request, reply) => {
    const { provider } = request.params as { provider: string };
    const next = safeNext((request.query as Record<string, string | undefined>).next);
    try {
      return reply.redirect(await web.sso.begin(provider, ssoBrowserId(request, reply), next), 303);
    } catch (err) {
      if (!isSealedCacheError(err, 'ERR_WEB_SSO_FAILED')) throw err;
      return refusedPage(request, reply, 502, err.message);
    }
  });

  app.get('/ui/sign-in/sso/:provider/callback', pagePermit('web.public'), async (request, reply) => {
    const { provider } = request.params as { provider: string };
    const callbackUrl = new URL(request.url, 'http://placeholder');
    try {
      const signedIn = await web.sso.complete(
        provider,
        new URL(`${web.sso.redirectUri(provider)}${callbackUrl.search}`),
        request.cookies[SSO_COOKIE],
      );
      const { sessionId, record } = await web.sessions.create(signedIn.user.id);
      await web.sso.markSession(record.idHash, signedIn.provider.id);
      setSessionCookie(request, reply, SESSION_COOKIE, sessionId, DEFAULT_SESSION_ABSOLUTE_MS / 1000);
      reply.clearCookie(SSO_COOKIE, {
        path: SSO_COOKIE_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure: isSecureRequest(request),
      });
      // A page, not a redirect: the Strict session cookie is sent only once the browser is back on a same-site page.
      return reply
        .type('text/html; charset=utf-8')
        .send(continuePage(signedIn.user.name, signedIn.provider.displayName, signedIn.next, signedIn.joined));
    } catch (err) {
      if (!isSealedCacheError(err) || !['ERR_WEB_SSO_FAILED', 'ERR_WEB_SSO_NOT_ALLOWED'].includes(err.code)) throw err;
      return refusedPage(request, reply, err.status, err.message);
    }
  });
}
