/**
 * Who is looking at a page, and the checks every state-changing form passes: same origin
 * (Origin and Sec-Fetch-Site) and a CSRF token bound to the session, compared in constant time.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../errors';
import { csrfTokenFor, csrfTokenMatches, hashSessionId, SESSION_COOKIE } from '../auth/sessions';
import type { User } from '../metadata/records';
import type { Viewer } from './layout';
import type { WebServices } from './web-services';

export interface WebViewer extends Viewer {
  user: User;
  sessionId: string;
  sessionHash: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    webViewer: WebViewer | null;
  }
}

/** Resolves the session cookie (if any) into request.webViewer; the authorization layer runs it for every page. */
export async function loadViewer(
  web: WebServices,
  findUser: (id: string) => Promise<User | undefined>,
  request: FastifyRequest,
): Promise<WebViewer | undefined> {
  // Only the web scope parses cookies: elsewhere there is no session, whatever the request carries.
  const sessionId = (request.cookies as Record<string, string | undefined> | undefined)?.[SESSION_COOKIE];
  const session = await web.sessions.resolve(sessionId);
  if (session === undefined || sessionId === undefined) return undefined;
  const user = await findUser(session.userId);
  if (user === undefined || user.bot) return undefined;
  request.webViewer = {
    user,
    name: user.name,
    serverAdmin: user.serverAdmin,
    csrf: csrfTokenFor(sessionId),
    sessionId,
    sessionHash: hashSessionId(sessionId),
  };
  return request.webViewer;
}

export function requireViewer(request: FastifyRequest): WebViewer {
  if (request.webViewer === null) throw new SealedCacheError('ERR_WEB_SESSION_REQUIRED', 'sign in to see this page');
  return request.webViewer;
}

/** Refuses a cross-site POST: browsers send Sec-Fetch-Site and Origin on form posts. */
export function requireSameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin')
    throw new SealedCacheError(
      'ERR_WEB_CSRF_FAILED',
      `a form was posted from another site (${String(site)}); nothing was changed`,
    );
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let originHost: string | undefined;
  try {
    originHost = origin === 'null' ? undefined : new URL(origin).host;
  } catch {
    originHost = undefined;
  }
  if (originHost === undefined || originHost !== request.headers.host)
    throw new SealedCacheError('ERR_WEB_CSRF_FAILED', 'a form was posted from another origin; nothing was changed');
}

/** For every POST of a page: same origin, and with a session the session's CSRF token (the layer checks this first). */
export function checkSessionPost(request: FastifyRequest): void {
  requireSameOrigin(request);
  const viewer = request.webViewer;
  if (viewer !== null && !csrfTokenMatches(viewer.sessionId, formField(request, 'csrf'))) {
    throw new SealedCacheError(
      'ERR_WEB_CSRF_FAILED',
      'the form is missing its security token or it has expired; reload the page and try again',
    );
  }
}

/** A string field of an urlencoded form body, or undefined. */
export function formField(request: FastifyRequest, name: string): string | undefined {
  const body = request.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  return typeof value === 'string' ? value : undefined;
}

export function clientAddress(request: FastifyRequest): string {
  return request.ip;
}

/** Secure when the browser reached us over TLS (directly, or through a proxy that says so). */
export function isSecureRequest(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  name: string,
  value: string,
  maxAgeSeconds: number,
): void {
  reply.setCookie(name, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: isSecureRequest(request),
    maxAge: maxAgeSeconds,
  });
}

export function clearCookie(request: FastifyRequest, reply: FastifyReply, name: string): void {
  reply.clearCookie(name, { path: '/', httpOnly: true, sameSite: 'strict', secure: isSecureRequest(request) });
}
