/** The web page's collaborators, built once per server from the shared ServerContext. */
import { SessionService } from '../auth/sessions';
import type { ServerContext } from '../server-context';
import { AccountService } from './accounts';
import { FirstSignInLinks } from './first-sign-in';
import { FormOnce } from './form-once';
import { LoginRequestService } from '../services/login-request-service';
import { type WebAuthStore } from './web-auth-store';
import { openIdClientFlow, type OidcFlow } from '../sso/oidc-flow';
import { loadSsoConfig } from '../sso/sso-config';
import { SsoService } from '../sso/sso-sign-in';
import { loadServerSecret, RefreshTokenBox } from '../sso/refresh-token-box';
import { ScimService } from '../sso/scim';
import { SsoRecheck } from '../sso/sso-recheck';

export interface WebServices {
  auth: WebAuthStore;
  sessions: SessionService;
  accounts: AccountService;
  loginRequests: LoginRequestService;
  formOnce: FormOnce;
  firstSignIn: FirstSignInLinks;
  sso: SsoService;
  ssoRecheck: SsoRecheck;
  scim: ScimService;
}

export interface WebServiceOptions {
  /** Where the SSO config names client secrets by env var (default: the process env). */
  env?: Record<string, string | undefined>;
  /** A stand-in OIDC flow for unit tests; the real one talks to the provider. */
  oidcFlow?: OidcFlow;
}

export function createWebServices(ctx: ServerContext, options: WebServiceOptions = {}): WebServices {
  const auth = ctx.store.webAuth;
  const ssoConfig =
    ctx.config.ssoConfig === undefined ? undefined : loadSsoConfig(ctx.config.ssoConfig, options.env ?? process.env);
  const sessions = new SessionService(auth, ctx.clock);
  const box = ssoConfig === undefined ? undefined : new RefreshTokenBox(loadServerSecret(ctx.config.dataDir));
  const flow = options.oidcFlow ?? openIdClientFlow();
  const ssoDeps = {
    config: ssoConfig,
    flow,
    sso: ctx.store.sso,
    store: ctx.store,
    audit: ctx.audit,
    clock: ctx.clock,
    box,
  };
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
      ssoLinks: ctx.store.sso,
    }),
    formOnce: new FormOnce(auth, ctx.clock),
    firstSignIn: new FirstSignInLinks({ store: ctx.store, auth, clock: ctx.clock }),
    sso: new SsoService(ssoDeps),
    ssoRecheck: new SsoRecheck(ssoDeps),
    scim: new ScimService({ config: ssoConfig, store: ctx.store, audit: ctx.audit, clock: ctx.clock }),
  };
}
