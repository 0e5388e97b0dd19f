/** The web page's collaborators, built once per server from the shared ServerContext. */
import { SessionService } from '../auth/sessions';
import type { ServerContext } from '../server-context';
import { AccountService } from './accounts';
import type { WebAuthDatabase } from './web-auth-schema';
import { FormOnce } from './form-once';
import { LoginRequestService } from '../services/login-request-service';
import { type WebAuthStore, webAuthStoreFor } from './web-auth-store';
import { openIdClientFlow, type OidcFlow } from '../sso/oidc-flow';
import { loadSsoConfig } from '../sso/sso-config';
import { SsoService } from '../sso/sso-sign-in';
import { type SsoDatabase, SsoStore } from '../sso/sso-store';
import { type SqliteMetadataStore } from '../metadata/sqlite-metadata-store';

export interface WebServices {
  auth: WebAuthStore;
  sessions: SessionService;
  accounts: AccountService;
  loginRequests: LoginRequestService;
  formOnce: FormOnce;
  sso: SsoService;
}

export interface WebServiceOptions {
  /** Where the SSO config names client secrets by env var (default: the process env). */
  env?: Record<string, string | undefined>;
  /** A stand-in OIDC flow for unit tests; the real one talks to the provider. */
  oidcFlow?: OidcFlow;
}

export function createWebServices(ctx: ServerContext, options: WebServiceOptions = {}): WebServices {
  const auth = webAuthStoreFor(ctx.store);
  const ssoConfig =
    ctx.config.ssoConfig === undefined ? undefined : loadSsoConfig(ctx.config.ssoConfig, options.env ?? process.env);
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
    formOnce: new FormOnce(ctx.clock),
    sso: new SsoService({
      config: ssoConfig,
      flow: options.oidcFlow ?? openIdClientFlow(),
      // webAuthStoreFor has checked that this is the SQLite store.
      sso: new SsoStore((ctx.store as SqliteMetadataStore).connection.withTables<SsoDatabase & WebAuthDatabase>()),
      store: ctx.store,
      audit: ctx.audit,
      clock: ctx.clock,
    }),
  };
}
