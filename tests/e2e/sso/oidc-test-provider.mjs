/* global process, URL, URLSearchParams, fetch */
/**
 * A real OpenID provider (`oidc-provider`) on loopback for the SSO tests, run as its own process
 * because the package is an ES module. Config comes as JSON in OIDC_TEST_CONFIG; the first stdout line
 * is the issuer URL. Interactions are approved at once for the account the test picked, and a few
 * test-only endpoints under /__test let the test pick that account, read issued ID tokens, mint one for
 * another client, disable an account (its refresh tokens then fail), and make the token endpoint answer with another ID token (to check the relying party
 * refuses it). Nothing here is used outside tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OIDC_TEST_CONFIG ?? '{}');
const state = {
  nextAccount: undefined,
  swapIdToken: undefined,
  lastIdToken: {},
  pendingVerifier: {},
  disabled: new Set(),
};

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const selfRedirect = `${issuer}/__test/callback`;

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: [...c.redirect_uris, selfRedirect],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  })),
  async findAccount(_ctx, id) {
    const account = config.accounts[id];
    // A disabled account is unknown to the provider: its refresh tokens answer invalid_grant.
    if (account === undefined || state.disabled.has(id)) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (details.prompt.name === 'login') {
      result = { login: { accountId: state.nextAccount } };
    } else {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      result = { consent: { grantId: await grant.save() } };
    }
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
    return;
  }
  if (ctx.path === '/__test/account') {
    state.nextAccount = ctx.query.id;
    ctx.body = { ok: true };
    return;
  }
  if (ctx.path === '/__test/disable') {
    state.disabled.add(ctx.query.id);
    ctx.body = { ok: true };
    return;
  }
  if (ctx.path === '/__test/last-id-token') {
    ctx.body = { idToken: state.lastIdToken[ctx.query.client] ?? null };
    return;
  }
  if (ctx.path === '/__test/swap') {
    state.swapIdToken = ctx.query.idToken;
    ctx.body = { ok: true };
    return;
  }
  if (ctx.path === '/__test/authorize') {
    // Starts a flow for any client, landing on /__test/callback, which redeems the code here.
    const verifier = randomBytes(32).toString('base64url');
    state.pendingVerifier[ctx.query.client] = verifier;
    const url = new URL(`${issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: ctx.query.client,
      redirect_uri: selfRedirect,
      response_type: 'code',
      scope: 'openid email',
      nonce: randomBytes(16).toString('base64url'),
      state: ctx.query.client,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    ctx.redirect(url.href);
    return;
  }
  if (ctx.path === '/__test/callback') {
    const clientId = ctx.query.state;
    const client = config.clients.find((c) => c.client_id === clientId);
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: ctx.query.code,
        redirect_uri: selfRedirect,
        client_id: clientId,
        client_secret: client.client_secret,
        code_verifier: state.pendingVerifier[clientId],
      }).toString(),
    });
    const tokens = await response.json();
    ctx.type = 'text/plain';
    ctx.body = tokens.id_token ? `minted an ID token for ${clientId}` : `no ID token: ${JSON.stringify(tokens)}`;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.body && typeof ctx.body === 'object' && ctx.body.id_token) {
    const clientId = ctx.oidc?.client?.clientId;
    if (clientId) state.lastIdToken[clientId] = ctx.body.id_token;
    if (state.swapIdToken) {
      ctx.body = { ...ctx.body, id_token: state.swapIdToken };
      state.swapIdToken = undefined;
    }
  }
});

server.on('request', provider.callback());
process.stdout.write(`${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
