/** The web page's collaborators, built once per server from the shared ServerContext. */
import { SessionService } from '../auth/sessions';
import type { ServerContext } from '../server-context';
import { AccountService } from './accounts';
import { FirstSignInLinks } from './first-sign-in';
import { FormOnce } from './form-once';
import { LoginRequestService } from '../services/login-request-service';
import { type WebAuthStore } from './web-auth-store';

export interface WebServices {
  auth: WebAuthStore;
  sessions: SessionService;
  accounts: AccountService;
  loginRequests: LoginRequestService;
  formOnce: FormOnce;
  firstSignIn: FirstSignInLinks;
}

export function createWebServices(ctx: ServerContext): WebServices {
  const auth = ctx.store.webAuth;
  const sessions = new SessionService(auth, ctx.clock);
  return {
    auth,
    sessions,
    accounts: new AccountService({ store: ctx.store, auth, sessions, audit: ctx.audit, clock: ctx.clock }),
    loginRequests: new LoginRequestService({
      auth,
      tokens: ctx.tokens,
      audit: ctx.audit,
      clock: ctx.clock,
      store: ctx.store,
    }),
    formOnce: new FormOnce(auth, ctx.clock),
    firstSignIn: new FirstSignInLinks({ store: ctx.store, auth, clock: ctx.clock }),
  };
}
